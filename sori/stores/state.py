"""Producer cursors and checkpoints in the DynamoDB ``StateTable`` (PK ``pk``; items ``{pk, value, updated_at}``).

>>> store = StateStore("sori-state")                           # doctest: +SKIP
>>> store.put("listening#recently_played", {"after": 1732300000000})   # doctest: +SKIP
>>> store.get("listening#recently_played")                   # doctest: +SKIP
{'after': 1732300000000}

``value`` is stored as a JSON string so any JSON-able value round-trips exactly (DynamoDB would turn floats into
Decimals). Reads are strongly consistent: a cursor written by the previous run is always seen by the next.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import Any


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StateStore:
    def __init__(self, table_name: str, client: Any = None):
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self.client = client

    def get(self, pk: str, default: Any = None) -> Any:
        """The decoded value stored under ``pk`` (``default`` when absent)."""
        item = self.client.get_item(TableName=self.table_name, Key={"pk": {"S": pk}},
                                    ConsistentRead=True).get("Item")
        if not item or "value" not in item:
            return default
        return json.loads(item["value"]["S"])

    def put(self, pk: str, value: Any) -> None:
        """Store ``value`` (JSON-able) under ``pk``, replacing what was there."""
        self.client.put_item(TableName=self.table_name, Item={
            "pk": {"S": pk}, "value": {"S": json.dumps(value, ensure_ascii=False, sort_keys=True)},
            "updated_at": {"S": _now()}})

    def delete(self, pk: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={"pk": {"S": pk}})


class MemoryState:
    """In-process stand-in with the same interface (unit tests, benchmarks)."""

    def __init__(self, initial: dict[str, Any] | None = None):
        self.items: dict[str, str] = {k: json.dumps(v) for k, v in (initial or {}).items()}

    def get(self, pk: str, default: Any = None) -> Any:
        return json.loads(self.items[pk]) if pk in self.items else default

    def put(self, pk: str, value: Any) -> None:
        self.items[pk] = json.dumps(value, ensure_ascii=False, sort_keys=True)

    def delete(self, pk: str) -> None:
        self.items.pop(pk, None)
