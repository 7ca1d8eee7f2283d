"""The parquet lake on S3: partitioner, format, storage, catalog and compaction as separate parts.

Laid out the way Kafka Connect's S3 sink is, so each part can be read (and replaced) alone:

* **partitioner** — where a row goes: ``<prefix>/<table>/dt=YYYY-MM-DD/<shard>-<first>-<last>.snappy.parquet``
  (:func:`partition_prefix`, :func:`object_name`).
* **format** — rows ⇄ parquet bytes with one fixed Arrow schema per table, derived from the record contract
  (:func:`arrow_schema`, :func:`to_parquet`, :func:`conform`).
* **storage** — S3 objects (:class:`LakeStorage`); reads resolve compaction manifests (:func:`live_files`).
* **catalog** — Glue tables and partitions registered at write time (:class:`GlueCatalog`, awswrangler).
* **compaction** — merge a partition's small files (:func:`compact_partition`), safe to interrupt anywhere.

Exactly-once in the lake
------------------------
*Sink objects.* The s3 sink writes one object per (table, dt) per invocation, named from the shard id and the
first/last sequence numbers of the Kinesis records whose rows it holds. The same records always give the
same name, so a retried batch overwrites its own object. When a retry covers a *different* set of records
(bisection after a crash, or a smaller batch), the object with the same ``<shard>-<first>-`` prefix but
another last sequence number is the stale attempt: :meth:`LakeStorage.put_replacing` deletes it after the
new object is written. Rows are a function of the record range, so the first record of a (table, dt) group
is the same in every attempt that contains it; see ``consumers/s3_sink/logic.py`` for the partial-failure
case. Duplicates that no naming can prevent (a producer re-putting a record, a redrive of a record that did
land) share a ``record_id``; compaction keeps one row per ``record_id`` (the newest ``emitted_at``).

*Compaction.* S3 has no atomic rename, so the switch from small files to compacted files is a manifest
protocol every reader here honours (:func:`live_files`)::

    1. PUT  _compaction-<id>.json  {"inputs": [...], "outputs": [...]}   (uncommitted: outputs ignored)
    2. PUT  each output (compacted-<id>-<n>.snappy.parquet)
    3. all outputs exist → committed: inputs are ignored by readers
    4. DELETE inputs; 5. DELETE the manifest

Interrupted anywhere, a partition reads every row exactly once: before step 3 readers see the inputs and
skip the partial outputs; from step 3 they see the outputs and skip whatever inputs remain. The next
compaction run finishes or rolls back a leftover manifest first. Files starting with ``_`` are hidden from
Athena/Hive as well; Athena does not know the manifest, so it can see both sets during steps 3–4 (a few
hundred milliseconds, on partitions older than ``min_age_days`` only).
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sori._types import BotoClient, BotoSession
from sori.records import ENVELOPE_COLUMNS, TABLES

if TYPE_CHECKING:
    from sori.settings import Settings

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------- partitioner

SUFFIX = ".snappy.parquet"
_NAME = re.compile(r"^(?P<shard>shardId-[0-9]+)-(?P<first>[0-9]+)-(?P<last>[0-9]+)\.snappy\.parquet$")
MANIFEST_PREFIX = "_compaction-"


def partition_prefix(table: str, dt: str, prefix: str = "lake") -> str:
    """``lake/artists/dt=2026-11-22/``"""
    return f"{prefix.strip('/')}/{table}/dt={dt}/"


def table_prefix(table: str, prefix: str = "lake") -> str:
    return f"{prefix.strip('/')}/{table}/"


def object_name(shard: str, first_seq: str, last_seq: str) -> str:
    """Sink object name: same records → same name, so a retried batch overwrites its own object.

    >>> object_name("shardId-000000000001", "495", "497")
    'shardId-000000000001-495-497.snappy.parquet'
    """
    return f"{shard}-{first_seq}-{last_seq}{SUFFIX}"


def parse_object_name(name: str) -> tuple[str, str, str] | None:
    """``(shard, first_seq, last_seq)`` of a sink object name, ``None`` for other files."""
    m = _NAME.match(name)
    return (m["shard"], m["first"], m["last"]) if m else None


def is_data_file(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(("_", "."))


# ---------------------------------------------------------------------------------------------- format

_ARROW = {"string": pa.string(), "int": pa.int64(), "double": pa.float64(), "bool": pa.bool_(),
          "date": pa.string(), "timestamp": pa.string(), "array<string>": pa.list_(pa.string())}


def arrow_type(kind: str) -> pa.DataType:
    return _ARROW[kind]


@functools.cache
def arrow_schema(table: str) -> pa.Schema:
    """The parquet schema of a lake table: envelope columns, then the contract's data fields.

    >>> arrow_schema("artists").names[:5]
    ['record_id', 'v', 'emitted_at', 'source', 'artist_id']
    """
    spec = TABLES[table]
    return pa.schema([pa.field(f.name, _ARROW[f.kind]) for f in (*ENVELOPE_COLUMNS, *spec.fields)])


def conform(t: pa.Table, table: str) -> pa.Table:
    """Cast/extend a table to the current schema: missing columns (older files) become nulls."""
    schema = arrow_schema(table)
    cols = [t.column(f.name).cast(f.type) if f.name in t.column_names else pa.nulls(t.num_rows, f.type)
            for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


#: Columns (nearly) unique per row: a dictionary only costs time there (the writer builds it, then falls back
#: to plain once it outgrows its page) and min/max statistics prune nothing.
HIGH_CARDINALITY = frozenset({"record_id", "track_id", "name", "track_name", "url", "image_url", "album_image",
                              "played_at"})


def _leaf(field: pa.Field) -> str | None:
    """The parquet column path of a string(-list) column, None for other types."""
    name: str = field.name
    if pa.types.is_string(field.type):
        return name
    if pa.types.is_list(field.type) and pa.types.is_string(field.type.value_type):
        return f"{field.name}.list.element"
    return None


@functools.lru_cache(maxsize=64)
def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """``pq.write_table`` options for a lake schema: snappy; dictionary encoding for the repetitive string
    columns only (``v``/ids-per-artist/genres/dates/sources; numbers and the :data:`HIGH_CARDINALITY` columns stay
    plain); statistics on every column but the high-cardinality ones; no Arrow schema copy. Readers need nothing
    special.

    >>> opts = parquet_options(arrow_schema("artists"))
    >>> "genres.list.element" in opts["use_dictionary"], "record_id" in opts["use_dictionary"]
    (True, False)
    """
    dictionary = [leaf for f in schema if (leaf := _leaf(f)) and f.name not in HIGH_CARDINALITY]
    stats = [f.name if (leaf := _leaf(f)) is None else leaf for f in schema if f.name not in HIGH_CARDINALITY]
    # store_schema=False: the Arrow schema copy in the footer adds nothing here (every lake type maps back
    # from parquet as written) and costs a serialisation per object.
    return {"compression": "snappy", "use_dictionary": dictionary, "write_statistics": stats, "store_schema": False}


def to_parquet(t: pa.Table) -> bytes:
    """Snappy parquet bytes (see :func:`parquet_options`)."""
    sink = pa.BufferOutputStream()
    pq.write_table(t, sink, **parquet_options(t.schema))
    data: bytes = sink.getvalue().to_pybytes()
    return data


def from_parquet(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def dedup_latest(t: pa.Table) -> pa.Table:
    """One row per ``record_id``: the newest ``emitted_at`` (the later file's row on ties)."""
    if t.num_rows < 2:
        return t
    t = t.append_column("__i", pa.array(range(t.num_rows), pa.int64()))
    t = t.sort_by([("record_id", "ascending"), ("emitted_at", "descending"), ("__i", "descending")])
    ids = t.column("record_id").combine_chunks()
    keep = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)).fill_null(True)
    mask = pa.concat_arrays([pa.array([True]), keep])
    t = t.filter(mask).sort_by("__i")
    return t.drop_columns(["__i"])


# ---------------------------------------------------------------------------------------------- storage

@dataclass(frozen=True)
class LakeObject:
    key: str
    size: int = 0

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


class LakeStorage:
    """S3 objects of the lake: put/get/list/delete under ``s3://<bucket>/<prefix>/``.

    >>> LakeStorage("sori-lake").key("artists", "2026-11-22", "x.snappy.parquet")
    'lake/artists/dt=2026-11-22/x.snappy.parquet'
    """

    def __init__(self, bucket: str, prefix: str = "lake", s3: BotoClient = None):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._s3 = s3

    @classmethod
    def from_settings(cls, settings: Settings, s3: BotoClient = None) -> LakeStorage:
        return cls(settings.bucket, settings.lake_prefix, s3)

    @property
    def s3(self) -> BotoClient:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def key(self, table: str, dt: str, name: str) -> str:
        return partition_prefix(table, dt, self.prefix) + name

    def location(self, table: str, dt: str | None = None) -> str:
        path = partition_prefix(table, dt, self.prefix) if dt else table_prefix(table, self.prefix)
        return f"s3://{self.bucket}/{path}"

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def list_objects(self, prefix: str) -> list[LakeObject]:
        out: list[LakeObject] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out.extend(LakeObject(o["Key"], o.get("Size", 0)) for o in page.get("Contents", ()))
        return out

    def list_partition(self, table: str, dt: str) -> list[LakeObject]:
        return self.list_objects(partition_prefix(table, dt, self.prefix))

    def partitions(self, table: str) -> list[str]:
        """The ``dt`` values present for a table, sorted."""
        prefix = table_prefix(table, self.prefix)
        dts = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                       Delimiter="/"):
            for cp in page.get("CommonPrefixes", ()):
                part = cp["Prefix"][len(prefix):].strip("/")
                if part.startswith("dt="):
                    dts.add(part[3:])
        return sorted(dts)

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        for start in range(0, len(keys), 1000):
            resp = self.s3.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True})
            if resp.get("Errors"):
                raise RuntimeError(f"delete failed: {resp['Errors'][:3]}")

    def put_replacing(self, table: str, dt: str, shard: str, first_seq: str, last_seq: str, body: bytes) -> str:
        """Write a sink object, then delete stale attempts with the same shard and first sequence number."""
        name = object_name(shard, first_seq, last_seq)
        key = self.key(table, dt, name)
        self.put(key, body)
        stale = [o.key for o in self.list_objects(self.key(table, dt, f"{shard}-{first_seq}-")) if o.key != key]
        if stale:
            log.info("replacing stale attempt(s) %s", stale)
            self.delete(stale)
        return key

    def delete_prefix_matches(self, table: str, dt: str, shard: str, first_seq: str) -> None:
        """Delete every sink object of ``shard`` whose range starts at ``first_seq`` (used to roll back)."""
        keys = [o.key for o in self.list_objects(self.key(table, dt, f"{shard}-{first_seq}-"))]
        if keys:
            self.delete(keys)


# ---------------------------------------------------------------------------------------------- manifests / reads

@dataclass(frozen=True)
class Manifest:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def committed(self, present: set[str]) -> bool:
        return all(o in present for o in self.outputs)


def _manifests(storage: LakeStorage, objects: Sequence[LakeObject]) -> list[Manifest]:
    out = []
    for o in objects:
        if o.name.startswith(MANIFEST_PREFIX) and o.name.endswith(".json"):
            body = json.loads(storage.get(o.key))
            out.append(Manifest(o.name, tuple(body["inputs"]), tuple(body["outputs"])))
    return out


def live_files(storage: LakeStorage, table: str, dt: str,
               objects: Sequence[LakeObject] | None = None) -> list[LakeObject]:
    """The data files a reader must read for one partition (compaction manifests resolved)."""
    objects = storage.list_partition(table, dt) if objects is None else objects
    present = {o.name for o in objects}
    hidden: set[str] = set()
    for m in _manifests(storage, objects):
        hidden.update(m.inputs if m.committed(present) else m.outputs)
    return [o for o in objects if is_data_file(o.name) and o.name not in hidden]


def read_partition(storage: LakeStorage, table: str, dt: str) -> pa.Table:
    """Every row of one partition (current schema; no ``dt`` column)."""
    parts = [conform(from_parquet(storage.get(o.key)), table) for o in live_files(storage, table, dt)]
    return pa.concat_tables(parts) if parts else arrow_schema(table).empty_table()


# ---------------------------------------------------------------------------------------------- catalog

class GlueCatalog:
    """Glue tables and partitions of the lake (partitions registered at write time, cached per process)."""

    def __init__(self, database: str, storage: LakeStorage, session: BotoSession = None):
        self.database, self.storage, self._session = database, storage, session
        self._known: set[tuple[str, str]] = set()

    def ensure_table(self, table: str) -> None:
        """Create the Glue table if missing (the template creates them in the cloud; local tests use this)."""
        import awswrangler as wr

        from sori.records import glue_columns

        if wr.catalog.does_table_exist(self.database, table, boto3_session=self._session):
            return
        wr.catalog.create_parquet_table(
            database=self.database, table=table, path=self.storage.location(table),
            columns_types={c["Name"]: c["Type"] for c in glue_columns(table)}, partitions_types={"dt": "string"},
            compression="snappy", boto3_session=self._session)

    def add_partitions(self, table: str, dts: Iterable[str]) -> list[str]:
        """Register partitions not yet registered by this process (AlreadyExists is fine); return the new ones."""
        new = sorted({dt for dt in dts if (table, dt) not in self._known})
        if not new:
            return []
        import awswrangler as wr

        wr.catalog.add_parquet_partitions(
            database=self.database, table=table, compression="snappy", boto3_session=self._session,
            partitions_values={self.storage.location(table, dt): [dt] for dt in new})
        self._known.update((table, dt) for dt in new)
        return new

    def partitions(self, table: str) -> list[str]:
        import awswrangler as wr

        parts = wr.catalog.get_parquet_partitions(self.database, table, boto3_session=self._session)
        return sorted(v[0] for v in parts.values())


# ---------------------------------------------------------------------------------------------- compaction

@dataclass
class CompactionReport:
    table: str
    dt: str
    inputs: int = 0
    outputs: int = 0
    rows_in: int = 0
    rows_out: int = 0
    recovered: list[str] = field(default_factory=list)  # leftover manifests finished or rolled back

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "dt": self.dt, "inputs": self.inputs, "outputs": self.outputs,
                "rows_in": self.rows_in, "rows_out": self.rows_out, "duplicates_dropped": self.rows_in - self.rows_out,
                "recovered": self.recovered}


def recover(storage: LakeStorage, table: str, dt: str) -> list[str]:
    """Finish committed leftover manifests (delete their inputs) and roll back uncommitted ones."""
    objects = storage.list_partition(table, dt)
    present = {o.name for o in objects}
    done: list[str] = []
    for m in _manifests(storage, objects):
        if m.committed(present):
            storage.delete(storage.key(table, dt, n) for n in m.inputs if n in present)
        else:
            storage.delete(storage.key(table, dt, n) for n in m.outputs if n in present)
        storage.delete([storage.key(table, dt, m.name)])
        done.append(m.name)
    return done


def compact_partition(storage: LakeStorage, table: str, dt: str, *, target_rows: int = 1_000_000,
                      min_files: int = 2) -> CompactionReport:
    """Merge a partition's live files into ``ceil(rows / target_rows)`` files, one row per ``record_id``."""
    report = CompactionReport(table, dt, recovered=recover(storage, table, dt))
    files = live_files(storage, table, dt)
    if len(files) < min_files:
        return report
    inputs = sorted(o.name for o in files)
    t = pa.concat_tables([conform(from_parquet(storage.get(o.key)), table)
                          for o in sorted(files, key=lambda o: o.name)])
    report.inputs, report.rows_in = len(inputs), t.num_rows
    t = dedup_latest(t)
    report.rows_out = t.num_rows
    cid = hashlib.sha1("\n".join(inputs).encode()).hexdigest()[:16]
    n_out = max(1, -(-t.num_rows // target_rows))
    outputs = [f"compacted-{cid}-{i:03d}{SUFFIX}" for i in range(n_out)]
    manifest = storage.key(table, dt, f"{MANIFEST_PREFIX}{cid}.json")
    storage.put(manifest, json.dumps({"inputs": inputs, "outputs": outputs}).encode())
    for i, name in enumerate(outputs):
        storage.put(storage.key(table, dt, name), to_parquet(t.slice(i * target_rows, target_rows)))
    storage.delete(storage.key(table, dt, n) for n in inputs)
    storage.delete([manifest])
    report.outputs = n_out
    return report
