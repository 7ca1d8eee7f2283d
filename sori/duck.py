"""DuckDB over the parquet lake: the local stand-in for Athena (docs/ARCHITECTURE.md §5).

Each lake table is registered as a view over its live parquet files (compaction manifests resolved, see
``sori.lake.live_files``), read through pyarrow's ``S3FileSystem`` with ``endpoint_override`` — DuckDB 2.x
cannot load httpfs offline. ``dt`` is a column, as in the Glue tables, so the same SQL runs on both::

    with LakeDuck(get_settings()) as duck:
        duck.query("SELECT country, count(*) AS n FROM chart_entries WHERE dt >= ? GROUP BY 1",
                   ["2026-11-01"])                                      # -> pyarrow.Table

Limit what is listed and read with ``partitions={"plays": ["2026-11-22"]}`` (per table) or
``dt_from``/``dt_to`` (inclusive, every table). ``dedup=True`` serves one row per ``record_id`` (newest
``emitted_at``) — what compaction leaves behind — for partitions not compacted yet. Files written before a
field existed read as nulls in that column (the dataset has the contract's current schema).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
from pyarrow import fs as pafs

from sori._types import BotoSession
from sori.lake import LakeStorage, arrow_schema, live_files
from sori.records import TABLES
from sori.settings import Settings, get_settings


def s3_filesystem(region: str, endpoint_url: str | None = None, session: BotoSession = None) -> pafs.S3FileSystem:
    """A pyarrow S3 filesystem with boto3's credentials, pointed at ``AWS_ENDPOINT_URL`` when set (moto)."""
    import boto3

    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    creds = (session or boto3.Session()).get_credentials()
    kw: dict[str, Any] = {"region": region}
    if creds is not None:
        frozen = creds.get_frozen_credentials()
        kw.update(access_key=frozen.access_key, secret_key=frozen.secret_key, session_token=frozen.token)
    if endpoint_url:
        scheme, _, host = endpoint_url.partition("://")
        kw.update(endpoint_override=host.rstrip("/"), scheme=scheme or "https")
    return pafs.S3FileSystem(**kw)


class LakeDuck:
    """A DuckDB connection with every lake table registered (lazily, on the first query)."""

    def __init__(self, settings: Settings | None = None, *, partitions: Mapping[str, Sequence[str]] | None = None,
                 dt_from: str | None = None, dt_to: str | None = None, tables: Iterable[str] | None = None,
                 dedup: bool = False, storage: LakeStorage | None = None, filesystem: pafs.FileSystem | None = None):
        self.settings = settings or get_settings()
        self.storage = storage or LakeStorage.from_settings(self.settings)
        self.partitions = {k: list(v) for k, v in (partitions or {}).items()}
        self.dt_from, self.dt_to, self.dedup = dt_from, dt_to, dedup
        self.tables = list(tables) if tables is not None else list(TABLES)
        self._fs = filesystem
        self.con = duckdb.connect()
        self._registered = False
        self.files: dict[str, list[str]] = {}  # table -> s3 keys read (after manifest resolution)

    def __enter__(self) -> LakeDuck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    @property
    def fs(self) -> pafs.FileSystem:
        if self._fs is None:
            self._fs = s3_filesystem(self.settings.region)
        return self._fs

    def dts(self, table: str) -> list[str]:
        """The partitions of ``table`` this connection reads."""
        wanted = self.partitions.get(table)
        dts = self.storage.partitions(table) if wanted is None else sorted(set(wanted))
        return [d for d in dts
                if (self.dt_from is None or d >= self.dt_from) and (self.dt_to is None or d <= self.dt_to)]

    def dataset(self, table: str) -> ds.Dataset | pa.Table:
        """The table's rows as a pyarrow dataset (``dt`` included), over its live files."""
        schema = arrow_schema(table).append(pa.field("dt", pa.string()))
        keys = [o.key for dt in self.dts(table) for o in live_files(self.storage, table, dt)]
        self.files[table] = keys
        if not keys:
            return schema.empty_table()
        base = f"{self.storage.bucket}/{self.storage.prefix}/{table}"
        return ds.dataset([f"{self.storage.bucket}/{k}" for k in keys], schema=schema, format="parquet",
                          filesystem=self.fs,
                          partitioning=ds.partitioning(pa.schema([("dt", pa.string())]), flavor="hive"),
                          partition_base_dir=base)

    def register(self) -> None:
        """(Re)register every table; call again to see files written since."""
        for table in self.tables:
            data = self.dataset(table)
            if self.dedup:
                self.con.register(f"__raw_{table}", data)
                self.con.execute(
                    f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM "__raw_{table}" '
                    "QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY emitted_at DESC) = 1")
            else:
                self.con.register(table, data)
        self._registered = True

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pa.Table:
        """Run SQL (``?`` or ``$name`` parameters) and return the result as a pyarrow Table."""
        if not self._registered:
            self.register()
        rel = self.con.sql(sql, params=params) if params else self.con.sql(sql)
        return rel.to_arrow_table() if rel is not None else pa.table({})
