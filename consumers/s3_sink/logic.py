"""s3_sink logic: user records → one Arrow table per (lake table, dt) → parquet objects, exactly once.

Hot path (the goal is 200k user records/s on one core; ``bench/s3_sink_throughput.py``): the batch's
user-record payloads are sorted (stably) by the type our encoder writes first (``{"type":"…``, read 8 bytes at
a time with numpy) and joined once into a JSON-lines buffer; each type's run of lines is parsed by
``pyarrow.json`` against a schema of just that type's fields (strict on undeclared fields, which parses
faster, then lax; payloads without a known prefix: the union of every type's fields; all declared in
``sori.records``). Rows are pinned to payloads by shape, not by trusting the row count alone: a line is given
to the reader only if it starts with ``{`` and ends with ``}``, so no line can run into the next, and "no error
and one row per line" then means row i is payload i. The reader does not check UTF-8, so the buffer is checked
first. The contract checks run vectorised per type (version, required fields, id == natural key; dates and
timestamps once per distinct value with the contract's own check), building a mask only when something
fails. Anything the fast path cannot vouch for — a payload of another shape, a parse error in its run (found
by halving), or a row failing a check — is re-checked one by one with ``sori.records.validate``, which stays
the single source of truth: it is either accepted after all (e.g. an undeclared extra field of a surprising
type) or dead-lettered with validate's reason.

Exactly-once (see also ``sori/lake.py``): rows of one (table, dt) group go to one object named
``<shard>-<first>-<last>`` after the first and last Kinesis records that contributed rows. When some group
fails to write, Lambda will resume from the lowest failed item k; groups that *were* written and hold rows
of items ≥ k are rewritten without those rows (or deleted), so the retry from k writes them exactly once.
If even that repair fails, the whole batch is reported failed: a retry from the first item rebuilds every
group with the same first record, and ``put_replacing`` removes the stale attempts.

This module does no I/O of its own: :class:`LakeSink` drives the storage and catalog adapters it is given.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from sori import records as contract
from sori.consumer import BatchItem, Poison, TransientError
from sori.lake import GlueCatalog, LakeStorage, arrow_schema, arrow_type, to_parquet
from sori.records import (
    TYPES,
    RecordError,
    _check_kind,  # the contract's own date/timestamp check, applied to distinct values
    lake_row,
    validate,
)

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
#: Strict first (undeclared fields are an error: ~10% cheaper to parse), then lax (undeclared fields ignored).
_TYPE_PARSE = {
    name: tuple(pj.ParseOptions(unexpected_field_behavior=behaviour, explicit_schema=pa.schema(
        [f for f in PARSE_SCHEMA if f.name != "data"]
        + [pa.field("data", pa.struct([pa.field(f.name, arrow_type(f.kind)) for f in t.fields]))]))
        for behaviour in ("error", "ignore"))
    for name, t in TYPES.items() if name in FAST_TYPES}
_LAX: set[str] = set()  # record types seen with undeclared fields in this process: parsed lax at once
_PEEK = b'{"type":"'
_FAST_ORDER = tuple(_TYPE_PARSE)  # type code -> name; code len(_FAST_ORDER): no recognised prefix
_OTHER = len(_FAST_ORDER)
_VERSIONS = pa.array(sorted(contract.SUPPORTED_VERSIONS), pa.int64())
_HEAD = -(-(len(_PEEK) + max(map(len, _FAST_ORDER)) + 1) // 8) * 8  # the longest prefix + quote, in words


def _prefix_words(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mask, value)`` as uint64 words: ``head & mask == value`` iff a payload starts ``{"type":"<name>"``."""
    pattern = _PEEK + name.encode() + b'"'
    mask = np.zeros(_HEAD, np.uint8)
    mask[:len(pattern)] = 0xFF
    value = np.zeros(_HEAD, np.uint8)
    value[:len(pattern)] = np.frombuffer(pattern, np.uint8)
    return mask.view(np.uint64), value.view(np.uint64)


def _check_prefix_layout(prefixes: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The type peek relies on every prefix's first word being whole (all mask) and the same (``{"type":"``);
    raise ``RuntimeError`` at import if that ever stops holding, instead of misrouting records."""
    for mask, value in prefixes:
        if mask[0] != np.uint64(2**64 - 1) or value[0] != prefixes[0][1][0]:
            raise RuntimeError("record-type prefixes no longer share a whole first word: fix _prefix_words")
    return prefixes


_PREFIXES = _check_prefix_layout([_prefix_words(name) for name in _FAST_ORDER])


@dataclass
class ColumnarBatch:
    """Decoded batch: per lake table an Arrow table (+ ``__item``/``__pos`` helper columns) and poison."""

    items: list[BatchItem]
    tables: dict[str, pa.Table]
    poison: list[Poison]

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())

    def before(self, item: int) -> ColumnarBatch:
        """The batch without the rows of items ``item`` and later (they will be retried)."""
        tables = {n: t.filter(pc.less(t.column(_ITEM), item)) for n, t in self.tables.items()}
        return ColumnarBatch(self.items, {n: t for n, t in tables.items() if t.num_rows}, self.poison)


# ------------------------------------------------------------------------------------------- decoding

def _read(buf: pa.Buffer, rows: int, use_threads: bool, opts: pj.ParseOptions) -> pa.Table | None:
    try:
        t = pj.read_json(pa.BufferReader(buf), parse_options=opts,
                         read_options=pj.ReadOptions(use_threads=use_threads, block_size=1 << 20))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return t if t.num_rows == rows else None


def _parse(buf: pa.Buffer, starts: np.ndarray, lo: int, hi: int, out: list[tuple[int, pa.Table]], bad: list[int],
           use_threads: bool, opts: tuple[pj.ParseOptions, ...]) -> int | None:
    """Parse JSON lines ``lo..hi`` of ``buf`` (line i spans ``starts[i]`` to ``starts[i+1] - 1``).

    Each option set is tried in turn on the whole range (strict first: ``"error"`` on undeclared fields is
    the cheaper parse); when none fits, halve with the last (laxest) until the bad lines are isolated.
    Returns the index of the options that parsed the whole range, None when it had to be halved.
    """
    chunk = buf.slice(starts[lo], starts[hi] - 1 - starts[lo])
    for i, o in enumerate(opts):
        t = _read(chunk, hi - lo, use_threads, o)
        if t is not None:
            out.append((lo, t))
            return i
    if hi - lo == 1:
        bad.append(lo)
        return None
    mid = (lo + hi) // 2
    _parse(buf, starts, lo, mid, out, bad, use_threads, opts[-1:])
    _parse(buf, starts, mid, hi, out, bad, use_threads, opts[-1:])
    return None


def _type_codes(payloads: Sequence[bytes]) -> np.ndarray:
    """Per payload the index in ``_FAST_ORDER`` of the type our encoder wrote first (``{"type":"<name>"``),
    ``_OTHER`` for anything else: the first ``_HEAD`` bytes of every payload, compared 8 bytes at a time."""
    codes = np.full(len(payloads), _OTHER, np.int8)
    if payloads:
        heads = np.array(payloads, dtype=f"S{_HEAD}").view(np.uint64).reshape(len(payloads), -1)  # 0-padded
        words = [heads[:, w] for w in range(heads.shape[1])]
        peek = words[0] == _PREFIXES[0][1][0]  # every pattern's first word: {"type":
        for code, (mask, prefix) in enumerate(_PREFIXES):
            match = peek.copy()
            for w in range(1, len(words)):
                if mask[w]:
                    match &= (words[w] & mask[w]) == prefix[w]
            codes[match] = code
    return codes


def _utf8_ok(buf: bytes) -> bool:
    """Whether ``buf`` is valid UTF-8 (Arrow's SIMD validator, no copy). The JSON reader does not check."""
    offsets = pa.py_buffer(np.array([0, len(buf)], np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(buf)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _runs(ok: np.ndarray, lo: int, hi: int) -> list[tuple[int, int]]:
    """Maximal ``[a, b)`` ranges inside ``[lo, hi)`` where ``ok`` holds."""
    seg = ok[lo:hi]
    if seg.all():
        return [(lo, hi)] if hi > lo else []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], seg.view(np.int8), [0]))))
    return [(lo + int(a), lo + int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


# The checks below return ``None`` when every row passes (found with an aggregate or a null count, no mask
# built) and a boolean mask otherwise: a clean batch costs a handful of kernel calls per record type, where
# the per-call overhead, not the row count, dominates (≈3,000 rows per type in a 6 MB event).

def _kind_ok(col: pa.ChunkedArray, kind: str, *, nullable: bool = True) -> pa.ChunkedArray | None:
    """Check a ``date``/``timestamp`` column with the contract's own check, once per distinct value (times
    repeat a lot within a batch). Exact by construction: Arrow's ``strptime`` would take 2026-02-30, 23:59:60,
    year 0 and 1-digit months, which ``fromisoformat`` (and so ``validate``) rejects."""
    if col.null_count == len(col):
        return None if nullable else pc.is_valid(col)
    bad = [v for v in pc.unique(col).drop_null().to_pylist() if not _check_kind(v, kind)]
    if not bad:
        return None if nullable or not col.null_count else pc.is_valid(col)
    ok = pc.invert(pc.is_in(col, value_set=pa.array(bad, pa.string())))  # a null is not in it: passes
    return ok if nullable or not col.null_count else pc.and_(ok, pc.is_valid(col))


def _nonempty(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Non-null, non-empty strings."""
    if not col.null_count and pc.min_max(col).as_py()["min"] != "":
        return None
    return pc.not_equal(col, "")


def _version_ok(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    mm = pc.min_max(col).as_py()
    if not col.null_count and mm["min"] == mm["max"] and mm["min"] in contract.SUPPORTED_VERSIONS:
        return None
    return pc.is_in(col, _VERSIONS)


def _fast_table(type_: str, t: pa.Table, idx: pa.Array | None) -> tuple[pa.Table, pa.ChunkedArray | None]:
    """Lake rows of one record type (rows ``idx`` of the parsed chunk ``t``; all when None) and the mask of
    rows that passed every contract check (``None``: all did). Only the columns this type needs are kept."""
    spec = TYPES[type_]
    if idx is not None:
        t = t.take(idx)
    data = t.column("data")
    children = dict(zip((f.name for f in data.type), data.flatten(), strict=True))  # a null `data` nulls its fields
    fields = {f.name: children[f.name] for f in spec.fields}
    env = {n: t.column(n) for n in ("id", "v", "emitted_at", "source")}
    # (a non-empty id needs no check of its own: it must equal the natural key, which starts with the type)
    checks = [pc.is_valid(data) if data.null_count else None, _version_ok(env["v"]), _nonempty(env["source"]),
              _kind_ok(env["emitted_at"], "timestamp", nullable=False)]
    for f in spec.fields:
        c = fields[f.name]
        if f.required and c.null_count:
            checks.append(pc.is_valid(c))
        if f.kind in ("date", "timestamp"):
            checks.append(_kind_ok(c, f.kind))
    parts: list[Any] = [pa.scalar(type_)]
    for k in spec.key:
        c = fields[k] if pa.types.is_string(fields[k].type) else pc.cast(fields[k], pa.string())
        parts.append(pc.fill_null(c, "") if c.null_count else c)
    if spec.dated:
        parts.append(pc.utf8_slice_codeunits(env["emitted_at"], 0, 10))
    same_id = pc.equal(pc.binary_join_element_wise(*parts, ":"), env["id"])
    if same_id.null_count or not pc.all(same_id).as_py():
        checks.append(same_id)
    masks = [m for m in checks if m is not None]
    ok = None
    if masks:
        ok = masks[0]
        for m in masks[1:]:
            ok = pc.and_(ok, m)
        ok = pc.fill_null(ok, False)
    arrays = [env["id"], env["v"], env["emitted_at"], env["source"], *(fields[f.name] for f in spec.fields)]
    lake = pa.Table.from_arrays(arrays, schema=arrow_schema(spec.table))
    return lake.append_column(_ITEM, t.column(_ITEM)).append_column(_POS, t.column(_POS)), ok


def _split_types(t: pa.Table, peeked: str | None) -> list[tuple[str | None, Any]]:
    """``(type, row indices or None for all)`` per record type present in a parsed chunk."""
    col = t.column("type")
    if peeked is not None and not col.null_count and pc.min_max(col).as_py() == {"min": peeked, "max": peeked}:
        return [(peeked, None)]  # the usual case: the group is what its first bytes said
    out = []
    for type_ in pc.unique(col).to_pylist():
        mask = pc.is_null(col) if type_ is None else pc.fill_null(pc.equal(col, type_), False)
        # a row parsed with another type's schema lacks its own fields: re-check it the slow way
        out.append((type_ if peeked in (None, type_) else None, pc.indices_nonzero(mask)))
    return out


def _flatten(items: Sequence[BatchItem]) -> tuple[list[bytes], list[int], list[int], list[Poison]]:
    """Every payload of the batch in stream order, the count and index of each item, and unpackable items' poison."""
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
    return payloads, counts, indexes, poison


def _one_object_lines(payloads: list[bytes], order: np.ndarray, joined: bytes, lengths: np.ndarray,
                      starts: np.ndarray) -> np.ndarray:
    """Mask over the lines of ``joined``: True where the reader may see the line (one UTF-8 JSON object)."""
    # A line the reader may see is one object: starts with "{" and ends with "}". Then a line cannot run into
    # the next one (after a closing brace only "," "}" "]" or a new top-level object may follow, and a raw
    # newline inside a string is a parse error), so "no error and one row per line" pins rows to payloads.
    raw = np.frombuffer(joined, np.uint8)
    ok = lengths > 0
    ok[ok] = (raw[starts[:-1][ok]] == ord("{")) & (raw[starts[1:][ok] - 2] == ord("}"))
    if not _utf8_ok(joined):  # rare: find the payloads the reader would take although they are not UTF-8
        for i in np.flatnonzero(ok).tolist():
            try:
                payloads[order[i]].decode("utf-8")
            except UnicodeDecodeError:
                ok[i] = False
    return ok


def _fast_group(chunks: list[tuple[int, pa.Table]], order: np.ndarray, item_of: np.ndarray, peeked: str | None,
                slow: list[int], tables: dict[str, list[pa.Table]]) -> None:
    """Validate one type group's parsed chunks column-wise: good rows into ``tables``, the rest into ``slow``."""
    for lo, chunk in chunks:
        idx = order[lo:lo + chunk.num_rows]
        t = chunk.append_column(_ITEM, pa.array(item_of[idx])).append_column(_POS, pa.array(idx))
        for type_, rows in _split_types(t, peeked):
            if type_ not in FAST_TYPES:
                slow.extend((t.column(_POS) if rows is None else t.column(_POS).take(rows)).to_pylist())
                continue
            lake, passed = _fast_table(type_, t, rows)
            if passed is None:
                good = lake
            else:
                good = lake.filter(passed)
                slow.extend(lake.filter(pc.invert(passed)).column(_POS).to_pylist())
            if good.num_rows:
                tables.setdefault(TYPES[type_].table, []).append(good)


def _slow_path(items: Sequence[BatchItem], payloads: list[bytes], slow: list[int], item_of: np.ndarray,
               position: np.ndarray, poison: list[Poison], tables: dict[str, list[pa.Table]]) -> None:
    """The contract's own validate() decides the ``slow`` payloads one by one, and gives the reason."""
    slow_rows: dict[str, list[dict[str, Any]]] = {}
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
        for row in rows:  # valid JSON the lake cannot hold (a 70-bit int, a lone surrogate) is poison too
            try:
                pa.Table.from_pylist([row], schema=schema)
                good_rows.append(row)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
                poison.append(Poison(int(item_of[row[_POS]]), int(position[row[_POS]]), payloads[row[_POS]],
                                     f"{table}: value out of range for the lake schema: {e}"))
            except UnicodeEncodeError as e:
                poison.append(Poison(int(item_of[row[_POS]]), int(position[row[_POS]]), payloads[row[_POS]],
                                     f"{table}: string not representable in the lake (not UTF-8): {e}"))
        if good_rows:
            tables.setdefault(table, []).append(pa.Table.from_pylist(good_rows, schema=schema))


def decode_columnar(items: Sequence[BatchItem], *, use_threads: bool = False) -> ColumnarBatch:
    """Validate and columnarise every user record of the batch (the s3 sink's decoder)."""
    payloads, counts, indexes, poison = _flatten(items)
    n = len(payloads)
    item_of = np.repeat(np.asarray(indexes, np.int32), counts)  # payload -> item index
    starts_of_item = np.repeat(np.cumsum([0, *counts[:-1]]), counts) if counts else np.zeros(0, np.int64)
    position = np.arange(n) - starts_of_item  # payload -> index inside its item

    # One JSON-lines buffer, payloads grouped by their peeked type (stable: stream order inside a group).
    codes = _type_codes(payloads)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(_OTHER + 2))
    joined = b"\n".join([payloads[i] for i in order.tolist()])
    lengths = np.fromiter(map(len, payloads), np.int64, n)[order]
    starts = np.zeros(n + 1, np.int64)  # line i of `joined` spans starts[i] .. starts[i+1] - 1
    np.cumsum(lengths + 1, out=starts[1:])
    ok = _one_object_lines(payloads, order, joined, lengths, starts)
    slow: list[int] = order[~ok].tolist()  # payload indices the contract's validate() decides one by one
    buf = pa.py_buffer(joined)
    tables: dict[str, list[pa.Table]] = {}
    for code in range(_OTHER + 1):
        peeked = _FAST_ORDER[code] if code < _OTHER else None
        opts = (_TYPE_PARSE[peeked][peeked in _LAX:]) if peeked else (_PARSE,)
        chunks: list[tuple[int, pa.Table]] = []
        bad: list[int] = []
        for lo, hi in _runs(ok, int(bounds[code]), int(bounds[code + 1])):
            if _parse(buf, starts, lo, hi, chunks, bad, use_threads, opts) and peeked:
                _LAX.add(peeked)  # its producers send fields we do not declare: skip the strict attempt from now on
        slow.extend(order[bad].tolist())
        _fast_group(chunks, order, item_of, peeked, slow, tables)
    del buf, joined

    _slow_path(items, payloads, slow, item_of, position, poison, tables)

    merged: dict[str, pa.Table] = {}
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
        span = pc.min_max(t.column("emitted_at")).as_py()
        if span["min"][:10] == span["max"][:10]:  # ISO strings sort by date: one dt, no filtering
            groups = [(span["min"][:10], t)]
        else:
            dts = pc.utf8_slice_codeunits(t.column("emitted_at"), 0, 10)
            groups = [(dt, t.filter(pc.equal(dts, dt))) for dt in sorted(pc.unique(dts).to_pylist())]
        for dt, rows in groups:
            plans.append(ObjectPlan(table, dt, rows, sorted(pc.unique(rows.column(_ITEM)).to_pylist())))
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
        except Exception as e:
            log.exception("partition registration failed")
            return {i: TransientError(f"glue: {e}") for i in range(len(items))}
        written, failed = [], []
        for p in plans:
            try:
                self._write(p, items)
                written.append(p)
            except Exception as e:
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
        except Exception as e:
            log.exception("repair after partial failure failed; failing the whole batch")
            return {i: TransientError(f"s3: {e}") for i in range(len(items))}
        return {i: TransientError(f"s3: {err}") for i in range(k, len(items))}
