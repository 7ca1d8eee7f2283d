"""The stores a producer job talks to, as Protocols: the jobs depend on these shapes, not on MySQL or DynamoDB.

``sori.stores.mysql.ArtistStore`` satisfies :class:`ArtistCatalog` and ``sori.stores.state.StateStore``
:class:`CursorStore`; tests pass in-memory ones.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class ArtistCatalog(Protocol):
    """The slice of the RDS artist catalog the producers read and write."""

    conn: Any  # the nightly run seeds the curated aliases over the same connection

    def get_many(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def find_by_name_norm(self, norm: str) -> list[dict[str, Any]]: ...

    def upsert_artists(self, rows: Iterable[Mapping[str, Any]], *, source: str = "catalog") -> int: ...

    def stale_artists(self, older_than: _dt.datetime, limit: int | None = None) -> list[dict[str, Any]]: ...


class CursorStore(Protocol):
    """Producer cursors and checkpoints (``StateTable``)."""

    def get(self, pk: str, default: Any = None) -> Any: ...

    def put(self, pk: str, value: Any) -> None: ...

    def delete(self, pk: str) -> None: ...
