"""Lake format/partitioner and the s3 sink's columnar decoder (pure: no AWS)."""
from __future__ import annotations

import copy
import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.s3_sink.logic import decode_columnar, plan_objects
from local.mapping import kinesis_event_record, sample_records
from sori.consumer import decode_rows, unpack_items
from sori.lake import (
    arrow_schema,
    conform,
    dedup_latest,
    from_parquet,
    is_data_file,
    object_name,
    parse_object_name,
    partition_prefix,
    to_parquet,
)
from sori.records import TABLES, TYPES, encode, glue_columns, lake_row, record_id, validate

ARN = "arn:aws:kinesis:ap-northeast-2:123456789012:stream/s"
SAMPLES = sample_records(40)


def _event(payloads_per_item: list[list[bytes]]) -> dict:
    """One Kinesis record per inner list (aggregated when it holds more than one payload)."""
    from aws_kinesis_agg.aggregator import RecordAggregator

    recs = []
    for i, payloads in enumerate(payloads_per_item):
        if len(payloads) == 1:
            blob = payloads[0]
        else:
            agg = RecordAggregator()
            for p in payloads:
                assert agg.add_user_record("pk", p) is None
            blob = agg.clear_and_get().get_contents()[2]
        recs.append(kinesis_event_record(shard_id="shardId-000000000001", sequence_number=str(1000 + i),
                                         partition_key="pk", data=blob, arrival=0.0, stream_arn=ARN))
    return {"Records": recs}


def test_partitioner_names_round_trip():
    assert partition_prefix("plays", "2026-11-22") == "lake/plays/dt=2026-11-22/"
    name = object_name("shardId-000000000002", "4959", "4961")
    assert parse_object_name(name) == ("shardId-000000000002", "4959", "4961")
    assert parse_object_name("compacted-ab-000.snappy.parquet") is None
    assert is_data_file(name) and not is_data_file("_compaction-x.json") and not is_data_file("_x.parquet")


def test_arrow_schema_matches_glue_columns_for_every_table():
    for table in TABLES:
        glue = [c["Name"] for c in glue_columns(table)]
        assert arrow_schema(table).names == glue


def test_conform_reads_files_written_before_a_field_existed():
    rows = [lake_row(validate(r)) for r in SAMPLES if r["type"] == "artist"]
    old = pa.Table.from_pylist(rows, schema=arrow_schema("artists")).drop_columns(["followers", "url"])
    back = conform(from_parquet(to_parquet(old)), "artists")
    assert back.schema == arrow_schema("artists")
    assert back.column("followers").null_count == back.num_rows
    assert back.column("artist_id").to_pylist() == [r["artist_id"] for r in rows]


def test_parquet_dictionary_and_statistics_only_where_they_pay():
    import pyarrow.parquet as pq

    rows = [lake_row(validate(r)) for r in sample_records(400) if r["type"] == "top_track"]
    t = pa.Table.from_pylist(rows, schema=arrow_schema("top_tracks"))
    data = to_parquet(t)
    meta = pq.read_metadata(pa.BufferReader(data)).row_group(0)
    cols = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert any("DICTIONARY" in e for e in cols["artist_id"].encodings)
    assert not any("DICTIONARY" in e for e in cols["record_id"].encodings)
    assert cols["rank"].is_stats_set and not cols["url"].is_stats_set
    assert from_parquet(data).equals(t)


def test_dedup_latest_keeps_newest_emitted_per_record_id():
    t = pa.table({"record_id": ["a", "b", "a", "c", "b"],
                  "emitted_at": ["2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z",
                                 "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"],
                  "x": [1, 2, 3, 4, 5]})
    out = dedup_latest(t)
    assert sorted(zip(out.column("record_id").to_pylist(), out.column("x").to_pylist(), strict=False)) == [
        ("a", 3), ("b", 5), ("c", 4)]


def _reference(event) -> tuple[dict[str, list[dict]], list[tuple[int, int, str]]]:
    """What the per-record path (decode_rows + lake_row) makes of an event."""
    rb = decode_rows(unpack_items(event))
    tables: dict[str, list[dict]] = {}
    for _, rec in rb.records:
        tables.setdefault(rec.spec.table, []).append(lake_row(rec))
    return tables, [(p.item, p.position, p.reason) for p in rb.poison]


def _columnar(event) -> tuple[dict[str, list[dict]], list[tuple[int, int, str]]]:
    cb = decode_columnar(unpack_items(event))
    tables = {t: tb.drop_columns(["__item", "__pos"]).to_pylist() for t, tb in cb.tables.items()}
    return tables, [(p.item, p.position, p.reason) for p in cb.poison]


def _normalise(tables):
    return {t: sorted(json.dumps(r, sort_keys=True) for r in rows) for t, rows in tables.items()}


def test_columnar_decoder_agrees_with_validate_on_clean_batches():
    event = _event([[encode(r) for r in SAMPLES[i:i + 7]] for i in range(0, len(SAMPLES), 7)])
    ref, ref_poison = _reference(event)
    got, poison = _columnar(event)
    assert ref_poison == poison == []
    assert _normalise(got) == _normalise(ref)


MUTATIONS = {
    "bad json": lambda r: b"{oops",
    "not an object": lambda r: b"[1, 2]",
    "blank": lambda r: b"   ",
    "newline inside": lambda r: encode(r).replace(b",", b",\n", 1),
    "unknown type": lambda r: encode({**r, "type": "podcast"}),
    "version 2": lambda r: encode({**r, "v": 2}),
    "version as string": lambda r: encode({**r, "v": "1"}),
    "bool version": lambda r: encode({**r, "v": True}),
    "missing id": lambda r: encode({k: v for k, v in r.items() if k != "id"}),
    "wrong id": lambda r: encode({**r, "id": r["id"] + "x"}),
    "bad emitted_at": lambda r: encode({**r, "emitted_at": "2026-13-45T99:00:00Z", "id": r["id"]}),
    "empty source": lambda r: encode({**r, "source": ""}),
    "data null": lambda r: encode({**r, "data": None}),
    "required missing": lambda r: encode({**r, "data": {k: v for k, v in r["data"].items()
                                                        if k not in ("name", "track_id", "chart_id", "user_id")}}),
    "wrong kind": lambda r: encode({**r, "data": {**r["data"], "rank": "1"}}),
    "float for int": lambda r: encode({**r, "data": {**r["data"], "popularity": 1.5}}),
    "huge int": lambda r: encode({**r, "data": {**r["data"], "popularity": 2 ** 70}}),
    "extra field": lambda r: encode({**r, "data": {**r["data"], "brand_new": {"x": [1]}}}),
    "extra field, known name, odd type": lambda r: encode({**r, "data": {**r["data"], "tempo": "fast"}}),
    "bad week date": lambda r: encode({**r, "data": {**r["data"], "week": "2026-02-30"}}),
    "utf-8 name": lambda r: encode({**r, "data": {**r["data"], "name": "방탄소년단 \u2028 \"q\""}}),
    "offset timestamp": lambda r: encode({**r, "emitted_at": r["emitted_at"].replace("Z", "+09:00")}),
    "not utf-8": lambda r: b"\xff\xfe" + encode(r),
    "type not first": lambda r: json.dumps(dict(reversed(list(r.items())))).encode(),
    "type key repeated": lambda r: b'{"type":"artist",' + encode(r)[1:],
    "peeked type lies": lambda r: encode({**r, "type": "play" if r["type"] != "play" else "artist"}),
    "invalid utf-8 inside": lambda r: encode(r).replace(b'"source":"', b'"source":"\xff', 1),
    "lone surrogate": lambda r: encode(r).replace(b'"source":"', b'"source":"\\ud800', 1),
    "two objects in one payload": lambda r: encode(r) + b" " + encode(r),
    "unclosed object": lambda r: encode(r)[:-1],
    "trailing space": lambda r: encode(r) + b" ",
    "emitted_at null": lambda r: encode({**r, "emitted_at": None}),
    "emitted_at a number": lambda r: encode({**r, "emitted_at": 1763834400}),
}


def _consistent(r: dict, **changes) -> bytes:
    """``r`` changed, with its id recomputed: the change alone decides whether the record is valid."""
    out = {**r, **{k: v for k, v in changes.items() if k != "data"}, "data": {**r["data"], **changes.get("data", {})}}
    out["id"] = record_id(out["type"], out["data"], out["emitted_at"])
    return encode(out)


def _at(r: dict, ts: str) -> bytes:
    return _consistent(r, emitted_at=ts)


#: Dates and times Arrow's strptime takes but Python's fromisoformat (the contract) does not, and some it does.
CALENDAR = {
    "feb 29, common year": lambda r: _at(r, "2026-02-29T10:00:00Z"),
    "feb 29, leap year": lambda r: _at(r, "2024-02-29T10:00:00Z"),
    "leap second": lambda r: _at(r, "2026-11-22T23:59:60Z"),
    "year zero": lambda r: _at(r, "0000-11-22T10:00:00Z"),
    "space-padded year": lambda r: _at(r, " 026-11-22T10:00:00Z"),
    "one-digit month": lambda r: _at(r, "2026-1-22T10:00:00Z"),
    "offset 24h": lambda r: _at(r, "2026-11-22T10:00:00+24:00"),
    "offset 23:59": lambda r: _at(r, "2026-11-22T10:00:00+23:59"),
    "millis": lambda r: _at(r, "2026-11-22T10:00:00.123Z"),
    "apr 31 week": lambda r: _consistent(r, data={"week": "2026-04-31"}),
    "played at a leap second": lambda r: _consistent(r, data={"played_at": "2026-11-22T10:00:60Z"}),
    "played on feb 30": lambda r: _consistent(r, data={"played_at": "2026-02-30T10:00:00.500Z"}),
}
MUTATIONS.update(CALENDAR)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLES) - 1), st.sampled_from(sorted(MUTATIONS)) | st.none()),
                min_size=1, max_size=30),
       st.integers(1, 6))
def test_columnar_decoder_agrees_with_validate_on_poison(picks, per_item):
    payloads = [encode(SAMPLES[i]) if m is None else MUTATIONS[m](copy.deepcopy(SAMPLES[i])) for i, m in picks]
    event = _event([payloads[i:i + per_item] for i in range(0, len(payloads), per_item)])
    ref, ref_poison = _reference(event)
    got, poison = _columnar(event)
    # Reasons agree except where Arrow's column types are narrower than JSON (e.g. 2**70): stricter, never laxer.
    lax = {(i, p) for i, p, _ in ref_poison}
    assert lax <= {(i, p) for i, p, _ in poison}
    for i, p, reason in poison:
        if (i, p) in lax:
            assert reason == next(r for a, b, r in ref_poison if (a, b) == (i, p))
        else:
            assert "out of range" in reason or "not representable" in reason
    if {(i, p) for i, p, _ in poison} == lax:
        assert _normalise(got) == _normalise(ref)


def _agrees(payloads: list[bytes], per_item: int) -> None:
    event = _event([payloads[i:i + per_item] for i in range(0, len(payloads), per_item)])
    ref, ref_poison = _reference(event)
    got, poison = _columnar(event)
    assert poison == ref_poison
    assert _normalise(got) == _normalise(ref)


ONE_OF_EACH = [next(r for r in SAMPLES if r["type"] == t) for t in TYPES]


@pytest.mark.parametrize("mutation", [*sorted(CALENDAR), "invalid utf-8 inside", "two objects in one payload", "unclosed object", "trailing space", "newline inside", "emitted_at null", "emitted_at a number", "data null", "empty source", "version 2", "required missing"])
def test_columnar_decoder_agrees_with_validate_for_every_type(mutation):
    """Each record type, mutated, among clean records of every type: same rows, same poison, same reasons."""
    mutated = [MUTATIONS[mutation](copy.deepcopy(r)) for r in ONE_OF_EACH]
    clean = [encode(r) for r in SAMPLES]
    payloads = [p for pair in zip(clean, mutated + clean[len(mutated):], strict=False) for p in pair] + clean[len(mutated):]
    _agrees(payloads, per_item=5)
    _agrees(payloads, per_item=1)


def test_lone_surrogate_is_poison_not_a_crash():
    """Valid JSON that the lake cannot store (a lone surrogate) is dead-lettered with a reason."""
    payloads = [encode(SAMPLES[0]), MUTATIONS["lone surrogate"](copy.deepcopy(SAMPLES[1])), encode(SAMPLES[2])]
    cb = decode_columnar(unpack_items(_event([payloads])))
    assert [(p.position, "not representable" in p.reason) for p in cb.poison] == [(1, True)]
    assert cb.rows == 2


def test_rows_stay_pinned_to_their_payloads_when_lines_could_merge():
    """One payload holding two objects and two payloads that form one object between them: as many rows as
    lines, yet none of them is a record (validate rejects all three)."""
    b = encode(SAMPLES[2])  # audio_features
    assert b.startswith(b'{"type":"audio_features"')
    payloads = [b + b" " + b, b[:-1] + b',"x":', b'{"type":"audio_features"}}', encode(SAMPLES[3])]
    _agrees(payloads, per_item=4)
    assert decode_columnar(unpack_items(_event([payloads]))).rows == 1  # only the last is a record


def test_plan_groups_by_table_and_dt_and_tracks_items():
    day2 = [json.loads(encode(r)) for r in sample_records(3, day="2026-11-23")]
    event = _event([[encode(SAMPLES[0])], [encode(day2[0]), encode(SAMPLES[1])], [encode(day2[1])]])
    plans = plan_objects(decode_columnar(unpack_items(event)))
    got = {(p.table, p.dt): p.items for p in plans}
    assert got[("artists", "2026-11-22")] == [0]
    assert got[("artists", "2026-11-23")] == [1]
    assert got[("top_tracks", "2026-11-22")] == [1]
    assert got[("top_tracks", "2026-11-23")] == [2]
    p = next(p for p in plans if p.table == "top_tracks" and p.dt == "2026-11-22")
    assert p.data(before_item=1).num_rows == 0 and p.data().num_rows == 1
    assert "__item" not in p.data().column_names


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_single_events(n):
    event = _event([[encode(SAMPLES[0])]] * n)
    assert decode_columnar(unpack_items(event)).rows == n

def test_undeclared_fields_switch_that_type_to_the_lax_parse(monkeypatch):
    """A newer producer's extra field: the batch still agrees with validate, and later batches of that type skip
    the strict attempt (which would fail every time)."""
    from consumers.s3_sink import logic

    monkeypatch.setattr(logic, "_LAX", set())
    tracks = [r for r in SAMPLES if r["type"] == "top_track"][:4]
    newer = [_consistent(r, data={"explicit": True}) for r in tracks]
    _agrees([*newer, encode(SAMPLES[0])], per_item=2)
    assert {"top_track"} == logic._LAX
    _agrees(newer, per_item=3)
