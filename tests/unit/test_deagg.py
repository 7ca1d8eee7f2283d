"""Deaggregation and the shared consumer path's decoding (pure: no AWS)."""
from __future__ import annotations

import base64
import json

from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records
from hypothesis import given, settings
from hypothesis import strategies as st

from local.mapping import kinesis_event_record, sample_records, synthetic_events
from sori.consumer import TransientError, decode_rows, partial_response, unpack_items
from sori.kinesis.deagg import iter_user_records, unpack
from sori.records import encode

ARN = "arn:aws:kinesis:ap-northeast-2:123456789012:stream/s"


def _event(blobs: list[tuple[str, bytes]], shard: str = "shardId-000000000003") -> dict:
    return {"Records": [kinesis_event_record(shard_id=shard, sequence_number=str(100 + i), partition_key=pk,
                                             data=b, arrival=0.0, stream_arn=ARN) for i, (pk, b) in enumerate(blobs)]}


def _aggregate(payloads: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    agg = RecordAggregator(max_size=4096)
    out = []
    for pk, data in payloads:
        full = agg.add_user_record(pk, data)
        if full:
            out.append(full.get_contents()[::2])
    if agg.get_num_user_records():
        out.append(agg.clear_and_get().get_contents()[::2])
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.binary(max_size=600)), min_size=1, max_size=40))
def test_matches_the_library_deaggregator(payloads):
    event = _event(_aggregate(payloads))
    ours = [(u.partition_key, u.data, u.sub_sequence_number, u.sequence_number) for u in iter_user_records(event)]
    lib = [(r["kinesis"]["partitionKey"], base64.b64decode(r["kinesis"]["data"]),
            r["kinesis"].get("subSequenceNumber"), r["kinesis"]["sequenceNumber"])
           for r in deaggregate_records(event["Records"])]
    assert ours == lib
    assert [(pk, d) for pk, d, *_ in ours] == payloads


def test_plain_records_pass_through_with_shard_and_no_sub_sequence():
    event = _event([("pk", b'{"x":1}'), ("pk2", b"")])
    got = list(iter_user_records(event))
    assert [(u.data, u.sub_sequence_number, u.shard_id) for u in got] == [
        (b'{"x":1}', None, "shardId-000000000003"), (b"", None, "shardId-000000000003")]
    assert got[0].parent_event is event["Records"][0]


def test_corrupt_aggregate_is_reported_not_misread():
    (pk, blob), = _aggregate([("a", b"one"), ("b", b"two")])
    broken = blob[:-1] + bytes([blob[-1] ^ 1])  # digest no longer matches
    u = unpack(broken, pk)
    assert u.payloads == [broken] and "digest" in (u.error or "")
    batch = decode_rows(unpack_items(_event([(pk, broken)])))
    assert batch.records == [] and "digest" in batch.poison[0].reason


def test_decode_rows_splits_poison_with_reasons_and_keeps_order():
    good = sample_records(5)
    bad_version = dict(good[1], v=2)
    payloads = [encode(good[0]), b"{not json", encode(bad_version), json.dumps({"type": "nope"}).encode(),
                encode(good[2])]
    event = _event(_aggregate([("pk", p) for p in payloads]))
    batch = decode_rows(unpack_items(event))
    assert [r.id for _, r in batch.records] == [good[0]["id"], good[2]["id"]]
    reasons = [p.reason for p in batch.poison]
    assert reasons[0].startswith("bad JSON") and "unsupported version 2" in reasons[1] and "unknown type" in reasons[2]
    assert [p.position for p in batch.poison] == [1, 2, 3]


def test_partial_response_reports_failed_items_by_sequence_number():
    event = synthetic_events(sample_records(300), batch_size=10, aggregate_bytes=2048)[0]
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    resp = partial_response(event, {3: TransientError("x"), 5: TransientError("y")})
    assert resp == {"batchItemFailures": [{"itemIdentifier": seqs[3]}, {"itemIdentifier": seqs[5]}]}
    every = partial_response(event, {i: TransientError("z") for i in range(len(seqs))})  # never raises
    assert len(every["batchItemFailures"]) == len(seqs)
    assert partial_response(event, {}) == {"batchItemFailures": []}
