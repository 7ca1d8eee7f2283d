"""sori.kinesis.producer: per-shard aggregation, PutRecords limits, partial-failure retries, unsent counts."""
from __future__ import annotations

import base64
import json
import random

import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records

from sori.kinesis.producer import (
    MAX_BATCH_RECORDS,
    PUT_UNIT_BYTES,
    KinesisProducer,
    ShardMap,
    UnsentRecordsError,
    hash_key,
    put_units,
)
from sori.records import make_record

MAX = 2 ** 128


def shards(n: int) -> list[dict]:
    step = MAX // n
    return [{"ShardId": f"shardId-{i:012d}", "HashKeyRange": {"StartingHashKey": str(i * step),
             "EndingHashKey": str(MAX - 1 if i == n - 1 else (i + 1) * step - 1)},
             "SequenceNumberRange": {"StartingSequenceNumber": "1"}} for i in range(n)]


class FakeKinesis:
    """Records PutRecords calls; ``fail(call_no, entry_idx)`` decides per-entry failures."""

    def __init__(self, n_shards: int = 4, fail=None, raise_on=()):
        self.shards = shards(n_shards)
        self.fail = fail or (lambda call, i: False)
        self.raise_on = set(raise_on)
        self.calls: list[list[dict]] = []
        self.stored: list[dict] = []

    def list_shards(self, **kw):
        return {"Shards": self.shards}

    def put_records(self, StreamName, Records):
        n = len(self.calls)
        self.calls.append(Records)
        if n in self.raise_on:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                              "PutRecords")
        out = []
        for i, r in enumerate(Records):
            if self.fail(n, i):
                out.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"})
            else:
                self.stored.append(r)
                out.append({"SequenceNumber": str(len(self.stored)), "ShardId": "x"})
        return {"FailedRecordCount": sum(1 for o in out if "ErrorCode" in o), "Records": out}

    def user_records(self) -> list[dict]:
        lambda_shaped = [{"kinesis": {"data": base64.b64encode(r["Data"]).decode(), "partitionKey": r["PartitionKey"],
                                      "sequenceNumber": str(i), "kinesisSchemaVersion": "1.0",
                                      "approximateArrivalTimestamp": 0}}
                         for i, r in enumerate(self.stored)]
        out = []
        for u in deaggregate_records(lambda_shaped):
            out.append({"pk": u["kinesis"]["partitionKey"], "rec": json.loads(base64.b64decode(u["kinesis"]["data"]))})
        return out


def records(n: int, artists: int = 37) -> list[dict]:
    return [make_record("top_track", {"artist_id": f"artist{i % artists:02d}", "track_id": f"track{i:05d}",
                                      "name": f"Song {i}", "rank": 1 + i % 10, "album": "x" * 120},
                        source="spotify", emitted_at="2026-11-22T18:00:00Z") for i in range(n)]


def producer(client, **kw) -> KinesisProducer:
    return KinesisProducer("s", client=client, sleep=lambda s: None, rng=random.Random(1), **kw)


def test_put_units_round_up_to_25kb():
    assert put_units(1) == 1
    assert put_units(PUT_UNIT_BYTES) == 1
    assert put_units(PUT_UNIT_BYTES + 1) == 2


def test_shard_map_routes_by_md5_of_partition_key():
    m = ShardMap.from_shards(shards(4))
    for pk in ("a", "b", "3Nrfpe0tUJi4K4DXYWgMUX", "regional-kr-weekly"):
        idx = int(m.shard_for(pk)[-4:])
        assert idx == hash_key(pk) * 4 // MAX


def test_closed_shards_are_ignored():
    s = shards(2)
    s[0]["SequenceNumberRange"]["EndingSequenceNumber"] = "9"
    assert ShardMap.from_shards(s).ids == [s[1]["ShardId"]]


def test_every_user_record_arrives_once_and_aggregates_stay_on_one_shard():
    fake = FakeKinesis()
    recs = records(1000)
    report = producer(fake).put(recs)
    got = fake.user_records()
    assert sorted(g["rec"]["id"] for g in got) == sorted(r["id"] for r in recs)
    assert report.user_records == 1000
    assert report.kinesis_records == len(fake.stored) < 20
    m = ShardMap.from_shards(fake.shards)
    for r in fake.stored:  # each aggregate's records all hash to the aggregate's own shard
        one = [{"kinesis": {"data": base64.b64encode(r["Data"]).decode(), "partitionKey": r["PartitionKey"],
                            "sequenceNumber": "1", "kinesisSchemaVersion": "1.0",
                            "approximateArrivalTimestamp": 0}}]
        shards_in = {m.shard_for(u["kinesis"]["partitionKey"]) for u in deaggregate_records(one)}
        assert shards_in == {m.shard_for(r["PartitionKey"])}
    # per-key order is kept: one artist's records come out in the order they went in
    seen = [g["rec"]["data"]["track_id"] for g in got if g["pk"] == "artist05"]
    assert seen == sorted(seen)


def test_units_stay_close_to_the_floor():
    fake = FakeKinesis(n_shards=1)
    report = producer(fake).put(records(5000))
    assert report.put_units <= -(-report.bytes // PUT_UNIT_BYTES) + 1
    assert report.put_units < report.user_records / 50


def test_full_aggregates_are_filled_to_the_cap_not_short_of_it():
    # aws-kinesis-agg looks a str key up in a table that holds bytes, so with str keys it charges every record for a
    # new key-table entry and closes aggregates ~5 % early; the producer hands it bytes, so sizes are exact
    cap = 8 * PUT_UNIT_BYTES - 256
    fake = FakeKinesis(n_shards=1)
    recs = records(3000, artists=500)
    producer(fake, aggregate_bytes=cap).put(recs)
    sizes = [len(r["Data"]) for r in fake.stored]
    biggest_user_record = max(len(json.dumps(r, separators=(",", ":"))) for r in recs) + 64
    assert all(s <= cap for s in sizes)
    assert all(s > cap - biggest_user_record for s in sizes[:-1]), sizes
    assert len(fake.user_records()) == 3000


def test_non_ascii_partition_keys_are_sized_in_bytes():
    cap = 2 * PUT_UNIT_BYTES
    recs = [make_record("play", {"user_id": "사용자" * 20, "track_id": f"t{i:05d}", "played_at": f"2026-11-22T{i % 24:02d}:00:00Z"},
                        source="spotify", emitted_at="2026-11-22T18:00:00Z") for i in range(400)]
    fake = FakeKinesis(n_shards=1)
    producer(fake, aggregate_bytes=cap).put(recs)
    assert all(len(r["Data"]) <= cap for r in fake.stored)
    assert [u["pk"] for u in fake.user_records()] == ["사용자" * 20] * 400


def test_batches_respect_500_records_and_5_mib():
    fake = FakeKinesis(n_shards=1)
    p = producer(fake, aggregate_bytes=600)  # tiny aggregates -> many Kinesis records
    p.put(records(1200))
    assert len(fake.calls) >= 3
    for call in fake.calls:
        assert len(call) <= MAX_BATCH_RECORDS
        assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in call) <= 5 * 1024 * 1024


def test_only_failed_entries_are_retried():
    fake = FakeKinesis(n_shards=1, fail=lambda call, i: call == 0 and i % 2 == 0)
    p = producer(fake, aggregate_bytes=2000)
    report = p.put(records(300))
    first, second = fake.calls[0], fake.calls[1]
    assert len(second) == (len(first) + 1) // 2
    assert [r["Data"] for r in second] == [r["Data"] for i, r in enumerate(first) if i % 2 == 0]
    assert sorted(g["rec"]["id"] for g in fake.user_records()) == sorted(r["id"] for r in records(300))
    assert report.retried == len(second) and report.user_records == 300


def test_whole_call_throttling_is_retried():
    fake = FakeKinesis(raise_on={0, 1})
    report = producer(fake).put(records(50))
    assert len(fake.calls) == 3 and report.user_records == 50


def test_after_the_cap_the_unsent_user_records_are_counted_not_dropped():
    fake = FakeKinesis(n_shards=1, fail=lambda call, i: i == 0)  # the first entry fails on every attempt
    p = producer(fake, aggregate_bytes=3000, max_attempts=3)
    with pytest.raises(UnsentRecordsError) as err:
        p.put(records(200))
    sent = {g["rec"]["id"] for g in fake.user_records()}
    assert err.value.count == 200 - len(sent) > 0
    assert "ProvisionedThroughputExceeded" in str(err.value)
    assert len(fake.calls) == 3


def test_non_retryable_errors_propagate():
    class Broken(FakeKinesis):
        def put_records(self, StreamName, Records):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "PutRecords")
    with pytest.raises(Exception, match="ResourceNotFound"):
        producer(Broken()).put(records(3))
