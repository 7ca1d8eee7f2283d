"""Patches to moto that the local stack needs at scale (moto 5.2.5). Each keeps moto's behaviour, changes its cost.

- DynamoDB TransactWriteItems deep-copies the *whole table* once per item as its rollback backup, so the DynamoDB
  sink's transactional writes take minutes and gigabytes once a table holds tens of thousands of items.
  :func:`moto_transactions_backed_up_per_item` backs up only the items a transaction touches (same all-or-nothing
  outcome). :func:`install` applies it for the life of the process (the ``sori up`` supervisor, the test session).
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any

_installed = False


class _TablesNotCopied:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not deep-copied."""

    def __init__(self, real: Any, table_type: type):
        self._real, self._table_type = real, table_type

    def deepcopy(self, x: Any, memo: Any = None) -> Any:
        return x if isinstance(x, self._table_type) else self._real.deepcopy(x, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _patched_transact_write_items(original: Any):
    """moto 5.2's TransactWriteItems deep-copies the *whole table* once per item as its rollback backup: a
    100-item transaction against a 40,000-item table copies 4 million items (minutes, gigabytes), so the
    DynamoDB sink's transactional writes cannot run at scale. This keeps moto's transaction logic untouched and
    swaps only the backup: the items the transaction touches are saved before it and restored if it is
    cancelled (same all-or-nothing outcome, cost proportional to the transaction)."""
    import copy as real_copy

    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TransactionCanceledException,
    )

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            op = next(iter(entry.values()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            if "Item" in op:
                key = {k: op["Item"][k] for k in (table.hash_key_attr, table.range_key_attr) if k and k in op["Item"]}
            else:
                key = op.get("Key") or {}
            try:
                old = self.get_item(name, key)
            except Exception:
                continue
            saved.append((name, key, None if old is None else real_copy.deepcopy(old.to_json()["Attributes"])))
        try:
            original(self, transact_items)
        except (TransactionCanceledException, MultipleTransactionsException, MockValidationException):
            for name, key, old in reversed(saved):
                if old is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, old)
            raise

    return transact_write_items


def _apply() -> tuple[Any, Any]:
    """Patch moto; returns what to restore."""
    import copy as real_copy

    from moto.dynamodb import models as m

    original = m.DynamoDBBackend.transact_write_items
    # monkeypatching moto is this module's purpose (each patch names the moto gap it closes)
    m.copy = _TablesNotCopied(real_copy, m.Table)  # type: ignore[assignment]
    m.DynamoDBBackend.transact_write_items = _patched_transact_write_items(original)  # type: ignore[method-assign]
    return original, real_copy


@contextlib.contextmanager
def moto_transactions_backed_up_per_item():
    """The patch for the duration of a ``with`` block (a no-op when :func:`install` already applied it)."""
    global _installed
    if _installed:
        yield
        return
    from moto.dynamodb import models as m

    original, real_copy = _apply()
    _installed = True
    try:
        yield
    finally:
        m.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        m.copy = real_copy
        _installed = False


_narrow = threading.local()
_partition_patched = False


def install_partition_queries() -> None:
    """A base-table ``Query`` reads only its partition, as DynamoDB does: moto's ``Table.query`` sorts the
    whole table per call (0.45 s at 24k top-track items, which put the chatbot's five per-card lookups past
    its deadline). Results are unchanged: the same items, in the same order (idempotent)."""
    global _partition_patched
    if _partition_patched:
        return
    from moto.dynamodb.models.table import Table

    all_items, query = Table.all_items, Table.query

    def narrowed_all_items(self):
        want = getattr(_narrow, "key", None)
        if want is None or want[0] is not self:
            return all_items(self)
        part = self.items.get(want[1])
        if not part:
            return []
        items = list(part.values()) if self.range_key_attr else [part]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def partition_query(self, hash_key, *args, **kwargs):
        if kwargs.get("index_name") or (len(args) > 6 and args[6]) or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        _narrow.key = (self, hash_key)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _narrow.key = None

    Table.all_items, Table.query = narrowed_all_items, partition_query  # type: ignore[method-assign]
    _partition_patched = True


def install() -> None:
    """Apply every patch for the rest of the process (idempotent; nothing to undo at exit)."""
    global _installed
    install_partition_queries()
    if not _installed:
        _apply()
        _installed = True
