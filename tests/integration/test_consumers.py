"""The consumers against moto: exactly-once results over an at-least-once stream, poison to the DLQ.

Handlers are called the way the Kinesis mapping calls them, with Lambda-shaped events of aggregated
records; crashes and transient failures are injected with small wrappers (moto never fails on its own).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from consumers.dynamo_sink import handler as dynamo_handler
from consumers.dynamo_sink.logic import TopTracksSink
from consumers.s3_sink import handler as s3_handler
from consumers.s3_sink.logic import LakeSink, decode_columnar
from local.mapping import sample_records, synthetic_events
from sori import dlq as dlq_mod
from sori.consumer import consume
from sori.dlq import DeadLetterQueue
from sori.lake import GlueCatalog, LakeStorage, read_partition
from sori.records import TABLES, encode, make_record
from sori.settings import get_settings
from sori.stores.dynamo import TopTracksStore

REGION = "ap-northeast-2"
DAY = "2026-11-22"


@dataclass
class Env:
    bucket: str
    database: str
    table: str
    s3_dlq: str
    dynamo_dlq: str
    stream: str

    @property
    def storage(self) -> LakeStorage:
        return LakeStorage(self.bucket)


def make_env(monkeypatch, *, stream: bool = False) -> Env:
    """Bucket, Glue tables, DLQs, the top-tracks table (and a stream), with the SORI_* env pointing at them."""
    s3, sqs, ddb = boto3.client("s3", region_name=REGION), boto3.client("sqs", region_name=REGION), \
        boto3.client("dynamodb", region_name=REGION)
    env = Env("sori-lake", "sori", "sori-top-tracks",
              sqs.create_queue(QueueName="s3-sink-dlq")["QueueUrl"],
              sqs.create_queue(QueueName="dynamo-sink-dlq")["QueueUrl"], "sori-records")
    s3.create_bucket(Bucket=env.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    boto3.client("glue", region_name=REGION).create_database(DatabaseInput={"Name": env.database})
    catalog = GlueCatalog(env.database, env.storage)
    for t in TABLES:
        catalog.ensure_table(t)
    ddb.create_table(TableName=env.table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "artist_id", "AttributeType": "S"},
                                           {"AttributeName": "track_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "artist_id", "KeyType": "HASH"},
                                {"AttributeName": "track_id", "KeyType": "RANGE"}])
    if stream:
        boto3.client("kinesis", region_name=REGION).create_stream(StreamName=env.stream, ShardCount=2)
    for k, v in {"SORI_BUCKET": env.bucket, "SORI_GLUE_DATABASE": env.database, "SORI_TOP_TRACKS_TABLE": env.table,
                 "SORI_STREAM_NAME": env.stream, "SORI_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    return env


def use_dlq(monkeypatch, url: str) -> None:
    monkeypatch.setenv("SORI_DLQ_URL", url)
    get_settings.cache_clear()


def dead_letters(url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    out: list[Any] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def lake_ids(env: Env, table: str, dt: str = DAY) -> Counter:
    """record_id → how many times a reader of the partition sees it."""
    return Counter(read_partition(env.storage, table, dt).column("record_id").to_pylist())


def expected_ids(records, table: str, dt: str = DAY) -> Counter:
    return Counter(r["id"] for r in records if TABLES[table].name == r["type"] and r["emitted_at"][:10] == dt)


def events(records, **kw):
    kw.setdefault("aggregate_bytes", 4096)
    kw.setdefault("batch_size", 10)
    return synthetic_events(records, **kw)


class Crash(BaseException):
    """The process dying mid-write (not an Exception: nothing in the handler may catch it)."""


class FailingStorage(LakeStorage):
    """Fails the n-th put (1-based) with ``exc``; counts puts."""

    def __init__(self, env: Env, fail_on: set[int], exc: BaseException):
        super().__init__(env.bucket)
        self.fail_on, self.exc, self.puts = fail_on, exc, 0

    def put(self, key, body):
        self.puts += 1
        if self.puts in self.fail_on:
            raise self.exc
        super().put(key, body)


def s3_consume(env: Env, event, storage: LakeStorage | None = None):
    storage = storage or env.storage
    return consume(event, LakeSink(storage, GlueCatalog(env.database, storage)),
                   dlq=DeadLetterQueue(env.s3_dlq), decoder=decode_columnar)


# ------------------------------------------------------------------------------------------------ s3 sink

def test_s3_sink_writes_every_table_partitioned_and_registers_partitions(aws, monkeypatch):
    env = make_env(monkeypatch)
    use_dlq(monkeypatch, env.s3_dlq)
    recs = sample_records(120) + sample_records(30, day="2026-11-23", seed=1)
    evs = events(recs)
    for ev in evs:
        assert s3_handler.lambda_handler(ev) == {"batchItemFailures": []}
    for table in TABLES:
        for day in (DAY, "2026-11-23"):
            assert lake_ids(env, table, day) == expected_ids(recs, table, day), (table, day)
        days = sorted({r["emitted_at"][:10] for r in recs if TABLES[table].name == r["type"]})
        assert GlueCatalog(env.database, env.storage).partitions(table) == days
    keys = [o.name for o in env.storage.list_partition("top_tracks", DAY)]
    assert keys and all(k.startswith("shardId-000000000000-") and k.endswith(".snappy.parquet") for k in keys)
    # replaying the same events (a retried batch) overwrites its own objects: nothing added
    for ev in evs:
        s3_handler.lambda_handler(ev)
    assert sorted(o.name for o in env.storage.list_partition("top_tracks", DAY)) == sorted(keys)
    assert lake_ids(env, "top_tracks") == expected_ids(recs, "top_tracks")
    assert dead_letters(env.s3_dlq) == []


def _poison_event(good: list[dict], poison: list[bytes], shard: str = "shardId-000000000001") -> dict:
    from aws_kinesis_agg.aggregator import RecordAggregator

    from local.mapping import kinesis_event_record

    payloads = [encode(r) for r in good[:20]] + poison + [encode(r) for r in good[20:]]
    recs = []
    for i in range(0, len(payloads), 9):
        agg = RecordAggregator()
        for p in payloads[i:i + 9]:
            agg.add_user_record("pk", p)
        blob = agg.clear_and_get().get_contents()[2]
        recs.append(kinesis_event_record(shard_id=shard, sequence_number=str(5000 + i), partition_key="pk",
                                         data=blob, arrival=0.0, stream_arn="arn:aws:kinesis:x:1:stream/s"))
    return {"Records": recs}


POISON_REASONS = ("bad JSON", "unsupported version 7", "unknown type 'podcast'", "required field 'artist_id' missing",
                  "bad JSON")


def _poison(good):
    artist = next(r for r in good if r["type"] == "artist")
    return [b"{not json", encode({**artist, "v": 7}), encode({**artist, "type": "podcast"}),
            encode({**artist, "data": {"name": "no id"}}), b"\xff\xfe binary"]


@pytest.mark.parametrize("sink", ["s3", "dynamo"])
def test_poison_lands_in_the_dlq_with_reasons_while_the_rest_lands(aws, monkeypatch, sink):
    env = make_env(monkeypatch)
    good = sample_records(60)
    event = _poison_event(good, _poison(good))
    url = env.s3_dlq if sink == "s3" else env.dynamo_dlq
    use_dlq(monkeypatch, url)
    handler = s3_handler if sink == "s3" else dynamo_handler
    assert handler.lambda_handler(event) == {"batchItemFailures": []}
    letters = dead_letters(url)
    assert len(letters) == 5
    for letter, reason in zip(letters, POISON_REASONS, strict=False):
        assert reason in letter["reason"]
        assert letter["shard_id"] == "shardId-000000000001" and letter["sequence_number"].startswith("50")
        assert isinstance(letter["sub_sequence_number"], int) and letter["failed_at"].endswith("Z")
        assert letter["function"]
    assert dlq_mod.payload_of(letters[0]) == b"{not json"
    assert letters[4]["encoding"] == "base64" and dlq_mod.payload_of(letters[4]) == b"\xff\xfe binary"
    if sink == "s3":
        assert lake_ids(env, "artists") == expected_ids(good, "artists")
        assert lake_ids(env, "top_tracks") == expected_ids(good, "top_tracks")
    else:
        store = TopTracksStore(env.table)
        artists = {r["data"]["artist_id"] for r in good if r["type"] == "top_track"}
        assert sum(len(store.top_tracks(a, limit=50, now=0)) for a in artists) == \
            sum(r["type"] == "top_track" for r in good)


def _oversize_poison(good) -> bytes:
    """A record no contract accepts (unknown version) and no SQS message can hold: ~400 KB."""
    artist = next(r for r in good if r["type"] == "artist")
    return encode({**artist, "v": 9, "data": {**artist["data"], "name": "가" * 140_000}})


@pytest.mark.parametrize("sink", ["s3", "dynamo"])
def test_poison_too_big_for_sqs_is_parked_in_s3_and_the_batch_goes_on(aws, monkeypatch, sink):
    env = make_env(monkeypatch)
    good = sample_records(40)
    big = _oversize_poison(good)
    assert len(big) > 256 * 1024
    event = _poison_event(good, [big, b"{not json"])
    url = env.s3_dlq if sink == "s3" else env.dynamo_dlq
    use_dlq(monkeypatch, url)
    monkeypatch.setenv("SORI_DLQ_BUCKET", env.bucket)
    get_settings.cache_clear()
    handler = s3_handler if sink == "s3" else dynamo_handler
    assert handler.lambda_handler(event) == {"batchItemFailures": []}
    letters = dead_letters(url)
    assert len(letters) == 2
    parked, small = letters
    assert "record" not in parked and parked["encoding"] == "s3" and parked["record_bytes"] == len(big)
    assert "unsupported version 9" in parked["reason"]
    assert parked["record_s3"] == f"s3://{env.bucket}/" + dlq_mod.claim_check_key(parked)
    assert dlq_mod.payload_of(parked) == big  # byte for byte
    assert dlq_mod.payload_of(small) == b"{not json"
    # a retried batch overwrites its own object instead of adding one
    assert handler.lambda_handler(event) == {"batchItemFailures": []}
    keys = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=env.bucket, Prefix="dlq/").get("Contents", [])]
    assert keys == [parked["record_s3"].split("/", 3)[3]]


def test_poison_too_big_for_sqs_without_a_bucket_fails_its_item_rather_than_vanish(aws, monkeypatch):
    env = make_env(monkeypatch)
    good = sample_records(40)
    event = _poison_event(good, [_oversize_poison(good)])
    resp = consume(event, LakeSink(env.storage, None), dlq=DeadLetterQueue(env.s3_dlq), decoder=decode_columnar)
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    failed = [f["itemIdentifier"] for f in resp["batchItemFailures"]]
    # retried from the oversize record's item on (the mapping's retries, then its on-failure destination)
    assert failed == seqs[seqs.index(failed[0]):] and failed[0] != seqs[0]
    assert dead_letters(env.s3_dlq) == []


def test_redrive_replays_a_parked_payload_and_removes_its_object(aws, monkeypatch):
    env = make_env(monkeypatch)
    good = sample_records(10)
    artist = next(r for r in good if r["type"] == "artist")
    fixed = encode({**artist, "data": {**artist["data"], "name": "가" * 140_000}})  # valid now, still ~400 KB
    msg = dlq_mod.poison_message(fixed, reason="sink outage", shard_id="shardId-000000000000",
                                 sequence_number="42", sub_sequence_number=0, function="sori-s3-sink")
    assert DeadLetterQueue(env.s3_dlq, overflow_bucket=env.bucket).send([msg]) == []
    sent: list[tuple[str, bytes]] = []
    report = dlq_mod.redrive(env.s3_dlq, sent.extend)
    assert report.as_dict() == {"received": 1, "redriven": 1, "deleted": 1, "still_poison": 0, "failed": 0}
    assert sent == [("", fixed)]
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.list_objects_v2(Bucket=env.bucket, Prefix="dlq/").get("KeyCount", 0) == 0


def test_dlq_outage_fails_only_the_items_from_the_poison_on(aws, monkeypatch):
    env = make_env(monkeypatch)
    good = sample_records(60)
    event = _poison_event(good, _poison(good))
    broken = DeadLetterQueue(env.s3_dlq.replace("s3-sink-dlq", "no-such-queue"))
    resp = consume(event, LakeSink(env.storage, None), dlq=broken, decoder=decode_columnar)
    failed = [f["itemIdentifier"] for f in resp["batchItemFailures"]]
    seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert failed and seqs[0] not in failed and set(failed) <= set(seqs)
    # the retry (from the lowest failed item, the DLQ back) dead-letters them and writes nothing twice
    lowest = min(seqs.index(s) for s in failed)
    assert s3_consume(env, {"Records": event["Records"][lowest:]}) == {"batchItemFailures": []}
    assert len(dead_letters(env.s3_dlq)) == 5
    assert lake_ids(env, "top_tracks") == expected_ids(good, "top_tracks")


@pytest.mark.parametrize("crash_on_put", [1, 2, 4, 7])
def test_crash_mid_batch_then_retry_same_batch_is_exactly_once(aws, monkeypatch, crash_on_put):
    env = make_env(monkeypatch)
    recs = sample_records(200)
    event = events(recs, batch_size=100)[0]
    with pytest.raises(Crash):
        s3_consume(env, event, FailingStorage(env, {crash_on_put}, Crash()))
    assert s3_consume(env, event) == {"batchItemFailures": []}
    for table in TABLES:
        assert lake_ids(env, table) == expected_ids(recs, table), table


@pytest.mark.parametrize("crash_on_put", [3, 6])
def test_crash_then_bisected_retries_are_exactly_once(aws, monkeypatch, crash_on_put):
    """Lambda bisects after a function error: halves must replace the crashed attempt's objects."""
    env = make_env(monkeypatch)
    recs = sample_records(200)
    event = events(recs, batch_size=100)[0]
    n = len(event["Records"])
    with pytest.raises(Crash):
        s3_consume(env, event, FailingStorage(env, {crash_on_put}, Crash()))
    first, second = {"Records": event["Records"][:n // 2]}, {"Records": event["Records"][n // 2:]}
    with pytest.raises(Crash):  # the first half crashes too, and is bisected again
        s3_consume(env, first, FailingStorage(env, {2}, Crash()))
    q = len(first["Records"]) // 2
    for part in ({"Records": first["Records"][:q]}, {"Records": first["Records"][q:]}, second):
        assert s3_consume(env, part) == {"batchItemFailures": []}
    for table in TABLES:
        assert lake_ids(env, table) == expected_ids(recs, table), table


@pytest.mark.parametrize("fail_on_put", [1, 3, 5])
def test_partial_failure_then_retry_from_lowest_failed_item_is_exactly_once(aws, monkeypatch, fail_on_put):
    env = make_env(monkeypatch)
    recs = sample_records(300)
    all_records = events(recs, batch_size=1000)[0]["Records"]
    event = {"Records": all_records[:len(all_records) * 2 // 3]}
    resp = s3_consume(env, event, FailingStorage(env, {fail_on_put}, ConnectionError("S3 said 503")))
    seqs = [r["kinesis"]["sequenceNumber"] for r in all_records]
    failed = sorted(seqs.index(f["itemIdentifier"]) for f in resp["batchItemFailures"])
    assert failed, "a failed write must be reported"
    assert failed == list(range(failed[0], len(event["Records"])))  # it and everything after
    # Lambda resumes at the lowest failed item; the retry batch may reach further than the first one did
    assert s3_consume(env, {"Records": all_records[failed[0]:]}) == {"batchItemFailures": []}
    for table in TABLES:
        assert lake_ids(env, table) == expected_ids(recs, table), table


def test_new_optional_fields_do_not_break_the_table(aws, monkeypatch):
    env = make_env(monkeypatch)
    use_dlq(monkeypatch, env.s3_dlq)
    rec = make_record("artist", {"artist_id": "a1", "name": "A"}, source="spotify", emitted_at=f"{DAY}T01:00:00Z")
    newer = {**rec, "data": {**rec["data"], "monthly_listeners": 123, "socials": {"x": "@a"}}}
    from local.mapping import kinesis_event_record
    event = {"Records": [kinesis_event_record(shard_id="shardId-000000000000", sequence_number="1", partition_key="a1",
                                              data=encode(newer), arrival=0.0, stream_arn="arn:aws:kinesis:x:1:stream/s")]}
    assert s3_handler.lambda_handler(event) == {"batchItemFailures": []}
    assert read_partition(env.storage, "artists", DAY).to_pylist()[0]["name"] == "A"
    assert dead_letters(env.s3_dlq) == []


# ------------------------------------------------------------------------------------------------ dynamo sink

def _top_tracks(day: str, name_suffix: str = "", seed: int = 3, n: int = 60):
    recs = [r for r in sample_records(n * 34 // 10 + 34, day=day, seed=seed) if r["type"] == "top_track"][:n]
    for r in recs:
        r["data"]["name"] += name_suffix
    return recs


def _stored(env: Env, recs) -> dict:
    store = TopTracksStore(env.table)
    out = {}
    for a in sorted({r["data"]["artist_id"] for r in recs}):
        for it in store.top_tracks(a, limit=100, now=0):
            out[(it["artist_id"], it["track_id"])] = it
    return out


@pytest.mark.parametrize("mode", ["transact", "batch"])
def test_out_of_order_retries_keep_the_newest_data(aws, monkeypatch, mode):
    env = make_env(monkeypatch)
    old, new = _top_tracks("2026-11-21", " (old)"), _top_tracks("2026-11-22", " (new)")
    sink = TopTracksSink(TopTracksStore(env.table, mode=mode))
    dlq = DeadLetterQueue(env.dynamo_dlq)
    for ev in events(new):
        assert consume(ev, sink, dlq=dlq) == {"batchItemFailures": []}
    for ev in events(old):  # a late retry / redrive of older data
        assert consume(ev, sink, dlq=dlq) == {"batchItemFailures": []}
    assert sink.last_report.written == 0 and sink.last_report.skipped > 0
    stored = _stored(env, new)
    assert len(stored) == len(new)
    assert all(it["name"].endswith("(new)") and it["refreshed_at"].startswith("2026-11-22") for it in stored.values())
    # same-instant replay is an idempotent no-op; a newer one still wins
    newest = _top_tracks("2026-11-23", " (newest)")
    for ev in events(new) + events(newest):
        consume(ev, sink, dlq=dlq)
    assert all(it["name"].endswith("(newest)") for it in _stored(env, newest).values())


class CrashingClient:
    """Wraps a DynamoDB client: crashes on the n-th write request; can inject UnprocessedItems / conflicts."""

    def __init__(self, crash_on: int | None = None, unprocessed_first: int = 0, conflict_first: int = 0):
        self.c = boto3.client("dynamodb", region_name=REGION)
        self.crash_on, self.unprocessed_first, self.conflict_first = crash_on, unprocessed_first, conflict_first
        self.writes = 0
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name):
        return getattr(self.c, name)

    def _count(self, op):
        self.calls[op] += 1
        self.writes += 1
        if self.crash_on == self.writes:
            raise Crash()

    def transact_write_items(self, **kw):
        self._count("transact")
        if self.conflict_first:
            self.conflict_first -= 1
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                               "CancellationReasons": [{"Code": "TransactionConflict"}] * len(kw["TransactItems"])},
                              "TransactWriteItems")
        return self.c.transact_write_items(**kw)

    def batch_write_item(self, **kw):
        self._count("batch_write")
        if self.unprocessed_first:
            self.unprocessed_first -= 1
            (table, reqs), = kw["RequestItems"].items()
            keep, later = reqs[: len(reqs) // 2], reqs[len(reqs) // 2:]
            self.c.batch_write_item(RequestItems={table: keep})
            return {"UnprocessedItems": {table: later}}
        return self.c.batch_write_item(**kw)


@pytest.mark.parametrize("mode", ["transact", "batch"])
def test_dynamo_crash_after_part_of_a_batch_then_retry_is_exactly_once(aws, monkeypatch, mode):
    env = make_env(monkeypatch)
    recs = _top_tracks(DAY, n=130)
    event = events(recs, batch_size=1000, aggregate_bytes=64 * 1024)[0]
    dlq = DeadLetterQueue(env.dynamo_dlq)
    with pytest.raises(Crash):
        consume(event, TopTracksSink(TopTracksStore(env.table, CrashingClient(crash_on=2), mode=mode)), dlq=dlq)
    assert 0 < len(_stored(env, recs)) < len(recs)  # part of the batch landed
    sink = TopTracksSink(TopTracksStore(env.table, mode=mode))
    assert consume(event, sink, dlq=dlq) == {"batchItemFailures": []}
    assert sink.last_report.skipped > 0  # what landed before the crash was not written again
    stored = _stored(env, recs)
    assert sorted(stored) == sorted((r["data"]["artist_id"], r["data"]["track_id"]) for r in recs)
    by_key = {(r["data"]["artist_id"], r["data"]["track_id"]): r for r in recs}
    assert all(it["name"] == by_key[k]["data"]["name"] and it["rank"] == by_key[k]["data"]["rank"]
               for k, it in stored.items())


def test_batch_writer_retries_unprocessed_items_and_transact_retries_conflicts(aws, monkeypatch):
    env = make_env(monkeypatch)
    recs = _top_tracks(DAY)
    from sori.stores.dynamo import top_track_item
    items = [top_track_item(r["data"], emitted_at=r["emitted_at"]) for r in recs]
    client = CrashingClient(unprocessed_first=3)
    report = TopTracksStore(env.table, client, mode="batch", base_delay_s=0.001).put_items(items)
    assert report.written == len(items) and report.retries == 3
    assert len(_stored(env, recs)) == len(items)
    env2_items = [dict(it, record_emitted_at=it["record_emitted_at"].replace("18:", "19:"), name="v2") for it in items]
    client = CrashingClient(conflict_first=2)
    report = TopTracksStore(env.table, client, base_delay_s=0.001).put_items(env2_items)
    assert report.written == len(items) and report.retries == 2
    assert all(it["name"] == "v2" for it in _stored(env, recs).values())


def test_top_tracks_reader_serves_latest_snapshot_and_ignores_expired(aws, monkeypatch):
    env = make_env(monkeypatch)
    store = TopTracksStore(env.table)
    from sori.stores.dynamo import top_track_item
    old = [top_track_item({"artist_id": "a", "track_id": f"old{i}", "name": f"o{i}", "rank": i + 1},
                          emitted_at="2026-11-01T00:00:00Z") for i in range(5)]
    new = [top_track_item({"artist_id": "a", "track_id": f"new{i}", "name": f"n{i}", "rank": 5 - i},
                          emitted_at="2026-11-08T00:00:00Z", ttl_days=1) for i in range(5)]
    store.put_items(old + new)
    now = 1794009600  # 2026-11-08T12:00Z: the new snapshot is live
    assert [t["name"] for t in store.top_tracks("a", limit=3, now=now)] == ["n4", "n3", "n2"]
    assert store.top_tracks("a", now=now + 2 * 86400)[0]["name"] == "o0"  # new ones expired (TTL filter)
    assert store.top_tracks("nobody") == []


# ------------------------------------------------------------------------------------------------ redrive

def test_redrive_replays_after_a_fix_idempotently(aws, monkeypatch):
    env = make_env(monkeypatch, stream=True)
    use_dlq(monkeypatch, env.dynamo_dlq)
    recs = _top_tracks(DAY)[:30]
    v2 = [encode({**r, "v": 2}) for r in recs[:10]]  # a producer shipped v2 before the consumers knew it
    event = _poison_event(recs[10:], v2)
    assert dynamo_handler.lambda_handler(event) == {"batchItemFailures": []}
    assert len(_stored(env, recs)) == 20

    sqs = boto3.client("sqs", region_name=REGION)
    kinesis = boto3.client("kinesis", region_name=REGION)
    sent: list[bytes] = []

    def to_consumer(items):  # "straight to the fixed consumer", via a Lambda-shaped event
        sent.extend(d for _, d in items)
        from local.mapping import kinesis_event_record
        ev = {"Records": [kinesis_event_record(shard_id="shardId-000000000000", sequence_number=str(900 + len(sent) + i),
                                               partition_key=pk, data=d, arrival=0.0,
                                               stream_arn="arn:aws:kinesis:x:1:stream/s") for i, (pk, d) in enumerate(items)]}
        assert dynamo_handler.lambda_handler(ev) == {"batchItemFailures": []}

    # before the fix: still poison, nothing moves, nothing is lost
    report = dlq_mod.redrive(env.dynamo_dlq, to_consumer, sqs=sqs)
    assert report.redriven == 0 and len(report.still_poison) == 10 and report.deleted == 0
    # the fix: consumers learn v2
    monkeypatch.setattr("sori.records.SUPPORTED_VERSIONS", frozenset({1, 2}))
    report = dlq_mod.redrive(env.dynamo_dlq, to_consumer, sqs=sqs)
    assert report.redriven == 10 and report.deleted == 10
    assert len(_stored(env, recs)) == 30
    # idempotent: a second redrive finds nothing; replaying the same payloads changes nothing
    assert dlq_mod.redrive(env.dynamo_dlq, to_consumer, sqs=sqs).received == 0
    before = _stored(env, recs)
    to_consumer([("pk", p) for p in v2])
    assert _stored(env, recs) == before
    # and the stream sender puts them back on the stream
    dlq_mod.stream_sender(env.stream, kinesis)([("pk", p) for p in v2[:3]])
    shard = kinesis.list_shards(StreamName=env.stream)["Shards"]
    got = 0
    for s in shard:
        it = kinesis.get_shard_iterator(StreamName=env.stream, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")
        got += len(kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"])
    assert got == 3


# ------------------------------------------------------------------------------------------------ CLI

def fake_stack(monkeypatch, tmp_path, env: Env, deployed: dict | None = None):
    """A `.sori/stack.json` describing this test's moto resources, and a CLI app with our commands."""
    import os

    import typer
    from typer.testing import CliRunner

    from local.commands import consumers as commands

    stack_env = {"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], "SORI_BUCKET": env.bucket,
                 "SORI_GLUE_DATABASE": env.database, "SORI_TOP_TRACKS_TABLE": env.table,
                 "SORI_STREAM_NAME": env.stream, "SORI_REGION": REGION}
    for k, v in stack_env.items():
        monkeypatch.setenv(k, v)  # so whatever the CLI sets is undone after the test
    monkeypatch.setenv("SORI_HOME", str(tmp_path))
    (tmp_path / "stack.json").write_text(json.dumps({"ready": True, "pid": os.getpid(), "env": stack_env,
                                                      "deployed": deployed or {}}))
    app = typer.Typer()
    app.command("noop")(lambda: None)
    commands.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_cli_redrive_puts_dead_letters_back_on_the_stream(aws, monkeypatch, tmp_path):
    env = make_env(monkeypatch, stream=True)
    deployed = {"functions": {"S3SinkFunction": {"environment": {"SORI_DLQ_URL": env.s3_dlq}},
                              "DynamoSinkFunction": {"environment": {"SORI_DLQ_URL": env.dynamo_dlq}}}}
    good = sample_records(30)
    event = _poison_event(good, [encode({**good[0], "v": 2})])
    s3_consume(env, event)
    sori = fake_stack(monkeypatch, tmp_path, env, deployed)
    out = sori("redrive", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["S3SinkFunction"] == {"received": 1, "redriven": 0, "deleted": 0,
                                                        "still_poison": 1, "failed": 0}
    monkeypatch.setattr("sori.records.SUPPORTED_VERSIONS", frozenset({1, 2}))
    out = json.loads(sori("redrive", "--json", "--function", "S3SinkFunction").output)
    assert out == {"S3SinkFunction": {"received": 1, "redriven": 1, "deleted": 1, "still_poison": 0, "failed": 0}}
    k = boto3.client("kinesis", region_name=REGION)
    recs = []
    for s in k.list_shards(StreamName=env.stream)["Shards"]:
        it = k.get_shard_iterator(StreamName=env.stream, ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")
        recs += k.get_records(ShardIterator=it["ShardIterator"])["Records"]
    assert [json.loads(r["Data"])["v"] for r in recs] == [2]
