"""The local event source mapping against moto streams and queues (hand-made ``deployed`` dicts)."""
from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3
from test_consumers import REGION, dead_letters, expected_ids, lake_ids, make_env

from local.mapping import MappingRunner, aggregate, sample_records, wait_drained

STREAM = "sori-records"


def _kinesis():
    return boto3.client("kinesis", region_name=REGION)


def _stream(shards: int = 1) -> str:
    k = _kinesis()
    k.create_stream(StreamName=STREAM, ShardCount=shards)
    return k.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]


def _put(records, max_bytes=4096) -> int:
    blobs = aggregate(records, max_bytes=max_bytes)
    k = _kinesis()
    for i in range(0, len(blobs), 500):
        resp = k.put_records(StreamName=STREAM, Records=[{"PartitionKey": pk, "Data": b} for pk, b in blobs[i:i + 500]])
        assert resp["FailedRecordCount"] == 0
    return len(blobs)


def _put_plain(payloads: list[bytes]) -> list[str]:
    k = _kinesis()
    return [k.put_record(StreamName=STREAM, PartitionKey="pk", Data=p)["SequenceNumber"] for p in payloads]


def _mapping(function: str, arn: str, **kw) -> dict:
    m = {"function": function, "source_arn": arn, "stream_name": STREAM, "batch_size": 10,
         "maximum_batching_window_s": 0, "bisect": True, "maximum_retry_attempts": 2, "maximum_record_age_s": 3600,
         "on_failure_queue_url": None, "report_batch_item_failures": True, "starting_position": "TRIM_HORIZON",
         "parallelization_factor": 1}
    m.update(kw)
    return m


def _queue(name: str) -> str:
    return boto3.client("sqs", region_name=REGION).create_queue(QueueName=name)["QueueUrl"]


class Recorder:
    """A fake consumer: records what it saw; ``fail`` decides per event what to do."""

    def __init__(self, fail=None):
        self.calls: list[list[str]] = []
        self.payloads: list[bytes] = []
        self.fail = fail or (lambda seqs, payloads, n: None)

    def __call__(self, event, context):
        import base64

        seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        payloads = [base64.b64decode(r["kinesis"]["data"]) for r in event["Records"]]
        self.calls.append(seqs)
        assert event["Records"][0]["eventSource"] == "aws:kinesis"
        assert event["Records"][0]["eventID"].startswith("shardId-")
        out = self.fail(seqs, payloads, len(self.calls))
        if isinstance(out, BaseException):
            raise out
        if out is None:
            self.payloads.extend(payloads)
        return out


def test_sinks_consume_the_stream_and_resume_from_durable_checkpoints(aws, monkeypatch, tmp_path):
    env = make_env(monkeypatch)
    arn = _stream(shards=2)
    deployed = {"region": REGION, "functions": {
        "S3SinkFunction": {"name": "sori-s3-sink", "handler": "consumers.s3_sink.handler.lambda_handler",
                           "environment": {"SORI_DLQ_URL": env.s3_dlq, "SORI_BUCKET": env.bucket}},
        "DynamoSinkFunction": {"name": "sori-dynamo-sink", "handler": "consumers.dynamo_sink.handler.lambda_handler",
                               "environment": {"SORI_DLQ_URL": env.dynamo_dlq, "SORI_TOP_TRACKS_TABLE": env.table}}},
        "event_source_mappings": [_mapping("S3SinkFunction", arn, batch_size=20),
                                  _mapping("DynamoSinkFunction", arn, batch_size=7)]}
    recs = sample_records(200)
    _put(recs)
    _put_plain([b"{poison"])
    ckpt = tmp_path / "ckpt" / "kinesis.json"
    runner = MappingRunner(deployed, checkpoint_path=ckpt, poll_interval_s=0.05)
    assert runner.drain(timeout=60)
    assert lake_ids(env, "top_tracks") == expected_ids(recs, "top_tracks")
    assert lake_ids(env, "chart_entries") == expected_ids(recs, "chart_entries")
    from sori.stores.dynamo import TopTracksStore
    n = sum(len(TopTracksStore(env.table).top_tracks(a, limit=99, now=0)) for a in {r["data"]["artist_id"] for r in recs if r["type"] == "top_track"})
    assert n == sum(r["type"] == "top_track" for r in recs)
    # each function dead-letters to its own queue, with its own name; the env was restored afterwards
    assert [m["function"] for m in dead_letters(env.s3_dlq)] == ["sori-s3-sink"]
    assert [m["function"] for m in dead_letters(env.dynamo_dlq)] == ["sori-dynamo-sink"]
    assert os.environ.get("SORI_DLQ_URL") is None
    saved = json.loads(ckpt.read_text())
    assert {len(v) for v in saved.values()} == {2}  # both shards of both mappings
    # a restarted runner resumes after its checkpoints: nothing is processed twice
    again = MappingRunner(deployed, checkpoint_path=ckpt, poll_interval_s=0.05)
    assert again.drain(timeout=30)
    assert sum(s.invocations for s in again.stats.values()) == 0
    # continuous consumption, observed from outside through the checkpoint file (what `sori drain` does)
    more = sample_records(60, day="2026-11-23", seed=4)
    again.start()
    try:
        _put(more)
        assert wait_drained(deployed, checkpoint_path=ckpt, timeout=60)
    finally:
        again.stop()
    assert lake_ids(env, "top_tracks", "2026-11-23") == expected_ids(more, "top_tracks", "2026-11-23")


def _runner(tmp_path, arn, handler, **kw):
    deployed = {"region": REGION, "functions": {"F": {"name": "f", "handler": "x.y", "environment": {"SORI_X": "1"}}},
                "event_source_mappings": [_mapping("F", arn, **kw)]}
    return MappingRunner(deployed, {"F": handler}, checkpoint_path=tmp_path / "k.json", poll_interval_s=0.05)


def test_partial_failure_resumes_from_the_lowest_failed_item(aws, tmp_path):
    arn = _stream()
    seqs = _put_plain([f"r{i}".encode() for i in range(10)])

    def fail(batch, payloads, n):
        if n == 1:
            return {"batchItemFailures": [{"itemIdentifier": batch[6]}, {"itemIdentifier": batch[4]}]}
        return None

    rec = Recorder(fail)
    runner = _runner(tmp_path, arn, rec)
    assert runner.drain(timeout=30)
    assert rec.calls == [seqs, seqs[4:]]
    assert rec.payloads == [f"r{i}".encode() for i in range(4, 10)]  # the first call "failed" from 4 on
    assert runner.checkpoints.get(runner.mappings[0].key, "shardId-000000000000") == seqs[-1]


def test_function_error_bisects_retries_then_sends_the_on_failure_record(aws, tmp_path):
    arn = _stream()
    dlq = _queue("on-failure")
    seqs = _put_plain([b"ok0", b"ok1", b"ok2", b"boom", b"ok4", b"ok5", b"ok6", b"ok7"])

    def fail(batch, payloads, n):
        return RuntimeError("crash") if b"boom" in payloads else None

    rec = Recorder(fail)
    runner = _runner(tmp_path, arn, rec, batch_size=8, maximum_retry_attempts=2, on_failure_queue_url=dlq)
    assert runner.drain(timeout=30)
    assert sorted(rec.payloads) == sorted(p for p in (b"ok0", b"ok1", b"ok2", b"ok4", b"ok5", b"ok6", b"ok7"))
    boom_calls = [c for c in rec.calls if c == [seqs[3]]]
    assert len(boom_calls) == 3  # the isolated record: first try + 2 retries
    msgs = dead_letters(dlq)
    assert len(msgs) == 1
    info = msgs[0]["KinesisBatchInfo"]
    assert (info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == \
        ("shardId-000000000000", seqs[3], seqs[3], 1)
    assert info["streamArn"] == arn and msgs[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert msgs[0]["responseContext"]["functionError"] == "Unhandled"


def test_without_bisect_the_whole_batch_is_retried_then_skipped(aws, tmp_path):
    arn = _stream()
    dlq = _queue("on-failure")
    seqs = _put_plain([b"a", b"boom", b"c"])
    rec = Recorder(lambda b, p, n: RuntimeError("x") if b"boom" in p else None)
    runner = _runner(tmp_path, arn, rec, bisect=False, maximum_retry_attempts=1, on_failure_queue_url=dlq)
    assert runner.drain(timeout=30)
    assert rec.calls == [seqs, seqs]
    info = dead_letters(dlq)[0]["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (seqs[0], seqs[-1], 3)


def test_records_older_than_max_age_are_skipped_to_the_on_failure_queue(aws, tmp_path):
    arn = _stream()
    dlq = _queue("on-failure")
    _put_plain([b"old1", b"old2"])
    rec = Recorder()
    runner = _runner(tmp_path, arn, rec, maximum_record_age_s=60, on_failure_queue_url=dlq)
    runner.clock = lambda: time.time() + 3600
    assert runner.drain(timeout=30)
    assert rec.calls == []
    msg = dead_letters(dlq)[0]
    assert msg["requestContext"]["condition"] == "RecordAgeExceeded" and msg["KinesisBatchInfo"]["batchSize"] == 2


def test_batching_window_waits_for_a_fuller_batch_but_drain_flushes(aws, tmp_path):
    arn = _stream()
    _put_plain([b"x", b"y"])
    rec = Recorder()
    runner = _runner(tmp_path, arn, rec, batch_size=100, maximum_batching_window_s=300)
    runner.poll_once()
    assert rec.calls == []
    assert runner.drain(timeout=30) and len(rec.calls) == 1 and len(rec.calls[0]) == 2


def test_environment_is_applied_around_each_invocation(aws, tmp_path, monkeypatch):
    arn = _stream()
    _put_plain([b"x"])
    seen: dict[Any, Any] = {}

    def handler(event, context):
        seen.update(x=os.environ.get("SORI_X"), fn=os.environ.get("AWS_LAMBDA_FUNCTION_NAME"), ctx=context.function_name)

    monkeypatch.delenv("SORI_X", raising=False)
    assert _runner(tmp_path, arn, handler).drain(timeout=30)
    assert seen == {"x": "1", "fn": "f", "ctx": "f"} and "SORI_X" not in os.environ


def test_sqs_mapping_deletes_successes_and_keeps_reported_failures(aws, tmp_path):
    q = _queue("refresh")
    sqs = boto3.client("sqs", region_name=REGION)
    for i in range(3):
        sqs.send_message(QueueUrl=q, MessageBody=json.dumps({"artist_ids": [f"a{i}"]}))
    got = []

    def handler(event, context):
        assert event["Records"][0]["eventSource"] == "aws:sqs"
        failures = []
        for r in event["Records"]:
            ids = json.loads(r["body"])["artist_ids"]
            got.extend(ids)
            if ids == ["a1"]:
                failures.append({"itemIdentifier": r["messageId"]})
        return {"batchItemFailures": failures}

    deployed = {"region": REGION, "functions": {"CatalogFunction": {"name": "c", "handler": "x.y", "environment": {}}},
                "event_source_mappings": [{"function": "CatalogFunction", "source_arn": "arn:aws:sqs:ap-northeast-2:123456789012:refresh",
                                           "queue_url": q, "batch_size": 10, "report_batch_item_failures": True}]}
    runner = MappingRunner(deployed, {"CatalogFunction": handler}, checkpoint_path=tmp_path / "k.json")
    runner.poll_once()
    assert sorted(got) == ["a0", "a1", "a2"]
    left = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages",
                                                                 "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert int(left["ApproximateNumberOfMessages"]) + int(left["ApproximateNumberOfMessagesNotVisible"]) == 1
    assert runner.drain(timeout=0.5) is False  # the failed message is still owed


def test_poller_survives_a_missing_stream(aws, tmp_path):
    deployed = {"functions": {"F": {"name": "f", "handler": "x.y"}},
                "event_source_mappings": [_mapping("F", "arn:aws:kinesis:ap-northeast-2:123456789012:stream/nope",
                                                   stream_name="nope")]}
    runner = MappingRunner(deployed, {"F": Recorder()}, checkpoint_path=tmp_path / "k.json")
    assert runner.poll_once() == 0 and runner.errors


def test_cli_drain_runs_the_mappings_until_caught_up(aws, monkeypatch, tmp_path):
    from test_consumers import fake_stack

    env = make_env(monkeypatch)
    arn = _stream()
    deployed = {"region": REGION, "functions": {
        "S3SinkFunction": {"name": "s", "handler": "consumers.s3_sink.handler.lambda_handler",
                           "environment": {"SORI_DLQ_URL": env.s3_dlq}}},
        "event_source_mappings": [_mapping("S3SinkFunction", arn, batch_size=50)]}
    recs = sample_records(80)
    _put(recs)
    sori = fake_stack(monkeypatch, tmp_path, env, deployed)
    assert sori("drain", "--timeout", "0.5").exit_code == 1  # no runner consumes: not drained
    out = sori("drain", "--run", "--timeout", "60")
    assert out.exit_code == 0 and "drained" in out.output
    assert lake_ids(env, "top_tracks") == expected_ids(recs, "top_tracks")
    assert sori("drain", "--timeout", "5").exit_code == 0  # the checkpoints (under SORI_HOME) say so
