"""s3_sink logic: user records → one Arrow table per (lake table, dt) → parquet objects, exactly once.

Hot path (the goal is 200k user records/s on one core; ``bench/s3_sink_throughput.py``): the batch's
user-record payloads are grouped by the type our encoder writes first (``{"type":"…``), each group is joined
into one JSON-lines buffer and parsed by ``pyarrow.json`` against a strict schema of just that type's fields
(payloads that do not start that way: the union of every type's fields; all declared in ``sori.records``);
the contract checks then run vectorised per type (required fields, version, date/timestamp shapes,
id == natural key). Anything the fast path cannot vouch
for — a parse error in its chunk (found by halving), or a row failing a vectorised check — is re-checked
one by one with ``sori.records.validate``, which stays the single source of truth: it is either accepted
after all (e.g. an undeclared extra field of a surprising type) or dead-lettered with validate's reason.

Exactly-once (see also ``sori/lake.py``): rows of one (table, dt) group go to one object named
``<shard>-<first>-<last>`` after the first and last Kinesis records that contributed rows. When some group
fails to write, Lambda will resume from the lowest failed item k; groups that *were* written and hold rows
of items ≥ k are rewritten without those rows (or deleted), so the retry from k writes them exactly once.
If even that repair fails, the whole batch is reported failed: a retry from the first item rebuilds every
group with the same first record, and ``put_replacing`` removes the stale attempts.

This module does no I/O of its own: :class:`LakeSink` drives the storage and catalog adapters it is given.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from sori.consumer import BatchItem, Poison, TransientError
from sori.lake import GlueCatalog, LakeStorage, arrow_schema, arrow_type, to_parquet
from sori import records as contract
from sori.records import TYPES, RecordError, lake_row, validate

log = logging.getLogger(__name__)

_ITEM, _POS = "__item", "__pos"


def _parse_schema() -> tuple[pa.Schema, frozenset[str]]:
    """Union of all data fields (one Arrow type per field name) and the record types it covers."""
    kinds: dict[str, str] = {}
    clash: set[str] = set()
    for t in TYPES.values():
        for f in t.fields:
            if kinds.setdefault(f.name, f.kind) != f.kind:
                clash.add(f.name)
    data = pa.struct([pa.field(n, arrow_type(k)) for n, k in kinds.items() if n not in clash])
    fast = frozenset(t.name for t in TYPES.values() if not any(f.name in clash for f in t.fields))
    schema = pa.schema([("type", pa.string()), ("v", pa.int64()), ("id", pa.string()),
                        ("emitted_at", pa.string()), ("source", pa.string()), ("data", data)])
    return schema, fast


PARSE_SCHEMA, FAST_TYPES = _parse_schema()
_PARSE = pj.ParseOptions(explicit_schema=PARSE_SCHEMA, unexpected_field_behavior="ignore")
#: Per record type: envelope + only that type's fields. Parsing a group of one type with its own schema
#: builds far fewer (null) children than the union schema; undeclared fields are ignored either way.
_TYPE_PARSE = {
    name: pj.ParseOptions(unexpected_field_behavior="ignore", explicit_schema=pa.schema(
        [f for f in PARSE_SCHEMA if f.name != "data"]
        + [pa.field("data", pa.struct([pa.field(f.name, arrow_type(f.kind)) for f in t.fields]))]))
    for name, t in TYPES.items() if name in FAST_TYPES}
_PEEK = b'{"type":"'


@dataclass
class ColumnarBatch:
    """Decoded batch: per lake table an Arrow table (+ ``__item``/``__pos`` helper columns) and poison."""

    items: list[BatchItem]
    tables: dict[str, pa.Table]
    poison: list[Poison]

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())

    def before(self, item: int) -> "ColumnarBatch":
        """The batch without the rows of items ``item`` and later (they will be retried)."""
        tables = {n: t.filter(pc.less(t.column(_ITEM), item)) for n, t in self.tables.items()}
        return ColumnarBatch(self.items, {n: t for n, t in tables.items() if t.num_rows}, self.poison)


# ------------------------------------------------------------------------------------------- decoding

def _read(buf: bytes, rows: int, use_threads: bool, opts: pj.ParseOptions = _PARSE) -> pa.Table | None:
    try:
        t = pj.read_json(io.BytesIO(buf), parse_options=opts,
                         read_options=pj.ReadOptions(use_threads=use_threads, block_size=1 << 20))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return t if t.num_rows == rows else None


def _parse(payloads: Sequence[bytes], lo: int, hi: int, out: list, bad: list[int], use_threads: bool,
           joined: bytes | None = None, opts: pj.ParseOptions = _PARSE) -> None:
    """Parse payloads[lo:hi]; on error halve until the bad payloads are isolated."""
    t = _read(joined if joined is not None else b"\n".join(payloads[lo:hi]), hi - lo, use_threads, opts)
    if t is not None:
        out.append((lo, t))
    elif hi - lo == 1:
        bad.append(lo)
    else:
        mid = (lo + hi) // 2
        _parse(payloads, lo, mid, out, bad, use_threads, None, opts)
        _parse(payloads, mid, hi, out, bad, use_threads, None, opts)


def _group_by_type(payloads: Sequence[bytes]) -> dict[str | None, list[int]]:
    """Payload indices by the type our encoder writes first (``{"type":"…``); None: anything else."""
    groups: dict[str | None, list[int]] = {}
    for i, p in enumerate(payloads):
        key = None
        if p.startswith(_PEEK):
            end = p.find(b'"', 9)
            key = p[9:end].decode("ascii", "replace") if end > 0 else None
        groups.setdefault(key if key in _TYPE_PARSE else None, []).append(i)
    return groups


def _ts_ok(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO-8601 UTC/offset timestamps with a real date and time (rarer forms take the slow path)."""
    if pc.all(pc.equal(pc.utf8_length(col), 20)).as_py():  # the canonical YYYY-MM-DDTHH:MM:SSZ: one kernel
        return pc.is_valid(pc.strptime(col, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True))
    head = pc.strptime(pc.utf8_slice_codeunits(col, 0, 19), format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    tail = pc.match_substring_regex(pc.utf8_slice_codeunits(col, 19, 64), r"^(\.\d{3}|\.\d{6})?(Z|[+-]\d{2}:\d{2})$")
    return pc.and_(pc.is_valid(head), tail)


def _date_ok(col: pa.ChunkedArray) -> pa.ChunkedArray:
    parsed = pc.strptime(col, format="%Y-%m-%d", unit="s", error_is_null=True)
    return pc.and_(pc.equal(pc.utf8_length(col), 10), pc.is_valid(parsed))


def _fast_table(type_: str, t: pa.Table, idx: pa.Array | None) -> tuple[pa.Table, pa.Array]:
    """Lake rows of one record type (rows ``idx`` of the parsed chunk ``t``; all when None) and the mask of
    rows that passed every contract check. Only the columns this type needs are gathered."""
    spec = TYPES[type_]

    def col(name: str):
        c = t.column(name)
        return c if idx is None else c.take(idx)

    data = t.column("data")
    fields = {f.name: (pc.struct_field(data, f.name) if idx is None else pc.struct_field(data, f.name).take(idx))
              for f in spec.fields}
    env = {n: col(n) for n in ("id", "v", "emitted_at", "source", _ITEM, _POS)}
    data_ok = pc.is_valid(data) if idx is None else pc.is_valid(data).take(idx)
    ok = pc.and_(data_ok, pc.is_in(env["v"], pa.array(sorted(contract.SUPPORTED_VERSIONS), pa.int64())))
    for name in ("id", "source"):
        ok = pc.and_(ok, pc.greater(pc.utf8_length(env[name]), 0))
    ok = pc.and_(ok, _ts_ok(env["emitted_at"]))
    for f in spec.fields:
        c = fields[f.name]
        if f.required:
            ok = pc.and_(ok, pc.is_valid(c))
        if f.kind == "date":
            ok = pc.and_(ok, pc.or_kleene(pc.is_null(c), _date_ok(c)))
        elif f.kind == "timestamp":
            ok = pc.and_(ok, pc.or_kleene(pc.is_null(c), _ts_ok(c)))
    parts = [pa.scalar(type_)] + [pc.fill_null(pc.cast(fields[k], pa.string()), "") for k in spec.key]
    if spec.dated:
        parts.append(pc.utf8_slice_codeunits(env["emitted_at"], 0, 10))
    ok = pc.fill_null(pc.and_(ok, pc.equal(pc.binary_join_element_wise(*parts, ":"), env["id"])), False)
    arrays = [env["id"], env["v"], env["emitted_at"], env["source"], *(fields[f.name] for f in spec.fields)]
    lake = pa.Table.from_arrays(arrays, schema=arrow_schema(spec.table))
    return lake.append_column(_ITEM, env[_ITEM]).append_column(_POS, env[_POS]), ok


def _split_types(t: pa.Table, peeked: str | None):
    """``(type, row indices or None for all)`` per record type present in a parsed chunk."""
    col = t.column("type")
    if peeked is not None and pc.all(pc.fill_null(pc.equal(col, peeked), False)).as_py():
        return [(peeked, None)]  # the usual case: the group is what its first bytes said
    out = []
    for type_ in pc.unique(col).to_pylist():
        mask = pc.is_null(col) if type_ is None else pc.fill_null(pc.equal(col, type_), False)
        # a row parsed with another type's schema lacks its own fields: re-check it the slow way
        out.append((type_ if peeked in (None, type_) else None, pc.indices_nonzero(mask)))
    return out


def decode_columnar(items: Sequence[BatchItem], *, use_threads: bool = False) -> ColumnarBatch:
    """Validate and columnarise every user record of the batch (the s3 sink's decoder)."""
    payloads: list[bytes] = []
    counts: list[int] = []
    indexes: list[int] = []
    poison: list[Poison] = []
    for item in items:
        if item.unpacked.error:
            poison.extend(Poison(item.index, i, p, item.unpacked.error) for i, p in enumerate(item.payloads))
            continue
        payloads.extend(item.payloads)
        counts.append(len(item.payloads))
        indexes.append(item.index)
    item_of = np.repeat(np.asarray(indexes, np.int32), counts)  # payload -> item index
    starts = np.repeat(np.cumsum([0] + counts[:-1]), counts) if counts else np.zeros(0, np.int64)
    position = np.arange(len(payloads)) - starts  # payload -> index inside its item

    # Payloads the JSON-lines reader must not see (line breaks, blank): screened in bulk, rarely one by one.
    slow: list[int] = []
    fast_idx: list[int] | None = None  # None: every payload takes the fast path
    joined = b"\n".join(payloads)
    if joined.count(b"\n") != max(len(payloads) - 1, 0) or b"\r" in joined or b"\n\n" in joined \
            or (payloads and not (payloads[0].strip() and payloads[-1].strip())):
        fast_idx = []
        for i, p in enumerate(payloads):
            (slow if (b"\n" in p or b"\r" in p or not p.strip()) else fast_idx).append(i)
    del joined
    fast = list(range(len(payloads))) if fast_idx is None else fast_idx
    tables: dict[str, list[pa.Table]] = {}
    for peeked, members in _group_by_type([payloads[i] for i in fast] if fast_idx is not None else payloads).items():
        group = [fast[m] for m in members]  # payload indices
        chunks: list[tuple[int, pa.Table]] = []
        bad: list[int] = []
        _parse([payloads[i] for i in group], 0, len(group), chunks, bad, use_threads, None,
               _TYPE_PARSE[peeked] if peeked else _PARSE)
        slow.extend(group[b] for b in bad)
        pos = np.asarray(group, np.int64)
        for lo, t in chunks:
            idx = pos[lo:lo + t.num_rows]
            t = t.append_column(_ITEM, pa.array(item_of[idx])).append_column(_POS, pa.array(idx))
            for type_, rows in _split_types(t, peeked):
                if type_ not in FAST_TYPES:
                    slow.extend((t.column(_POS) if rows is None else t.column(_POS).take(rows)).to_pylist())
                    continue
                lake, ok = _fast_table(type_, t, rows)
                if pc.all(ok).as_py():
                    good = lake
                else:
                    good = lake.filter(ok)
                    slow.extend(lake.filter(pc.invert(ok)).column(_POS).to_pylist())
                if good.num_rows:
                    tables.setdefault(TYPES[type_].table, []).append(good)

    # Slow path: the contract's own validate() decides, and gives the reason.
    slow_rows: dict[str, list[dict]] = {}
    for i in sorted(slow):
        item = items[int(item_of[i])]
        try:
            rec = validate(payloads[i])
        except RecordError as e:
            poison.append(Poison(item.index, int(position[i]), payloads[i], e.reason))
            continue
        row = lake_row(rec)
        row[_ITEM], row[_POS] = item.index, i
        slow_rows.setdefault(rec.spec.table, []).append(row)
    for table, rows in slow_rows.items():
        schema = arrow_schema(table).append(pa.field(_ITEM, pa.int32())).append(pa.field(_POS, pa.int64()))
        good_rows = []
        for row in rows:  # a value outside the column type's range (e.g. a 70-bit int) is poison too
            try:
                pa.Table.from_pylist([row], schema=schema)
                good_rows.append(row)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
                poison.append(Poison(int(item_of[row[_POS]]), int(position[row[_POS]]), payloads[row[_POS]],
                                     f"{table}: value out of range for the lake schema: {e}"))
        if good_rows:
            tables.setdefault(table, []).append(pa.Table.from_pylist(good_rows, schema=schema))

    merged = {}
    for table, parts in tables.items():
        t = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            t = t.sort_by(_POS)
        merged[table] = t
    poison.sort(key=lambda p: (p.item, p.position))
    return ColumnarBatch(list(items), merged, poison)


# ------------------------------------------------------------------------------------------- planning

@dataclass
class ObjectPlan:
    """One parquet object to write: a (table, dt) group and the item range its rows came from."""

    table: str
    dt: str
    rows: pa.Table  # helper columns still attached
    items: list[int]  # sorted distinct item indices with rows in this object

    @property
    def first_item(self) -> int:
        return self.items[0]

    @property
    def last_item(self) -> int:
        return self.items[-1]

    def data(self, before_item: int | None = None) -> pa.Table:
        t = self.rows
        if before_item is not None:
            t = t.filter(pc.less(t.column(_ITEM), before_item))
        return t.drop_columns([_ITEM, _POS])


def plan_objects(batch: ColumnarBatch) -> list[ObjectPlan]:
    """Group each table's rows by ``dt`` (the UTC date of ``emitted_at``)."""
    plans = []
    for table, t in sorted(batch.tables.items()):
        dts = pc.utf8_slice_codeunits(t.column("emitted_at"), 0, 10)
        for dt in sorted(pc.unique(dts).to_pylist()):
            rows = t.filter(pc.equal(dts, dt))
            items = sorted(pc.unique(rows.column(_ITEM)).to_pylist())
            plans.append(ObjectPlan(table, dt, rows, items))
    return plans


# ------------------------------------------------------------------------------------------- writing

class LakeSink:
    """The s3 sink's ``sink(batch) -> {item: error}``: register partitions, write objects, repair on failure."""

    def __init__(self, storage: LakeStorage, catalog: GlueCatalog | None):
        self.storage, self.catalog = storage, catalog

    def _write(self, plan: ObjectPlan, items: Sequence[BatchItem], before_item: int | None = None) -> str | None:
        data = plan.data(before_item)
        if data.num_rows == 0:
            shard = items[plan.first_item].shard_id
            self.storage.delete_prefix_matches(plan.table, plan.dt, shard, items[plan.first_item].sequence_number)
            return None
        last = plan.last_item if before_item is None else max(i for i in plan.items if i < before_item)
        first = items[plan.first_item]
        return self.storage.put_replacing(plan.table, plan.dt, first.shard_id, first.sequence_number,
                                          items[last].sequence_number, to_parquet(data))

    def __call__(self, batch: ColumnarBatch) -> Mapping[int, BaseException]:
        items = batch.items
        plans = plan_objects(batch)
        if not plans:
            return {}
        try:
            if self.catalog is not None:
                by_table: dict[str, set[str]] = {}
                for p in plans:
                    by_table.setdefault(p.table, set()).add(p.dt)
                for table, dts in by_table.items():
                    self.catalog.add_partitions(table, dts)
        except Exception as e:  # noqa: BLE001 - transient: nothing written yet, retry the whole batch
            log.exception("partition registration failed")
            return {i: TransientError(f"glue: {e}") for i in range(len(items))}
        written, failed = [], []
        for p in plans:
            try:
                self._write(p, items)
                written.append(p)
            except Exception as e:  # noqa: BLE001 - transient: reported per item below
                log.exception("write of %s dt=%s failed", p.table, p.dt)
                failed.append((p, e))
        if not failed:
            return {}
        k = min(p.first_item for p, _ in failed)
        err = failed[0][1]
        try:
            for p in written:
                if p.last_item >= k:
                    self._write(p, items, before_item=k)
        except Exception as e:  # noqa: BLE001 - cannot narrow: retry everything from the first item
            log.exception("repair after partial failure failed; failing the whole batch")
            return {i: TransientError(f"s3: {e}") for i in range(len(items))}
        return {i: TransientError(f"s3: {err}") for i in range(k, len(items))}
