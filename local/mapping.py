"""The local event source mapping: what Lambda's Kinesis/SQS pollers do, in-process against moto.

moto stores streams and queues but runs no code, so the local stack drives the consumer Lambdas itself,
with the settings the template gives each mapping (``deployed["event_source_mappings"]``, from
``local.provision.deploy()``)::

    runner = MappingRunner(deployed)          # handlers imported from their dotted paths
    runner.start()                            # consume continuously, as AWS would
    ...
    runner.drain(timeout=60)                  # every record put so far processed (or dead-lettered)
    runner.stop()

Per Kinesis mapping and shard, exactly Lambda's documented behaviour:

* batches of up to ``batch_size`` records (and ≤ 6 MB), waiting up to ``maximum_batching_window_s`` for a
  full batch (``drain`` flushes at once), events shaped like Lambda's (``Records[].kinesis{data base64,
  partitionKey, sequenceNumber, approximateArrivalTimestamp, kinesisSchemaVersion}``, ``eventID``
  ``shardId-…:seq``, ``eventSourceARN`` …);
* ``batchItemFailures`` (with ``report_batch_item_failures``): records before the lowest reported sequence
  number are checkpointed, the rest retried (an unknown or empty identifier fails the whole batch);
* a function error retries the batch, bisecting it first when ``bisect`` is set (halves keep the retry count);
* after ``maximum_retry_attempts`` retries (-1: forever), or once records are older than
  ``maximum_record_age_s``, the batch is skipped and Lambda's on-failure record (``requestContext``,
  ``responseContext``, ``KinesisBatchInfo``) goes to ``on_failure_queue_url``;
* checkpoints are durable (a JSON file, default ``.sori/checkpoints/kinesis.json``): a restart resumes after
  the last processed record; ``starting_position`` applies only to shards with no checkpoint. Another process
  can wait on them: :func:`wait_drained` (what ``sori drain`` does against the running stack).

SQS mappings (``queue_url``; RefreshQueue → CatalogFunction) receive up to ``batch_size`` messages, delete
those that succeeded (all on success, all but the reported ones with ``report_batch_item_failures``), and
leave the rest to the queue's visibility timeout and redrive policy — as Lambda does.

Environment: a function's ``environment`` is applied to ``os.environ`` around each of its invocations
(``sori.settings.get_settings`` cache cleared before and after). ``os.environ`` is process-wide, so all
invocations of one runner are serialised under one lock; shards are polled by one thread per mapping.
``parallelization_factor`` > 1 therefore changes nothing locally (ordering per shard is the same).
"""
from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.lambda_context import LocalLambdaContext

log = logging.getLogger(__name__)

MAX_PAYLOAD = 6 * 1024 * 1024
Handler = Callable[[dict, Any], Any]


# ------------------------------------------------------------------------------------------- event shapes

def kinesis_event_record(*, shard_id: str, sequence_number: str, partition_key: str, data: bytes,
                         arrival: float, stream_arn: str, region: str = "ap-northeast-2",
                         function_arn: str = "") -> dict:
    """One record of a Lambda Kinesis event, as Lambda delivers it."""
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": sequence_number,
                    "data": base64.b64encode(data).decode("ascii"), "approximateArrivalTimestamp": arrival},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": function_arn or "arn:aws:iam::123456789012:role/sori",
        "awsRegion": region, "eventSourceARN": stream_arn,
    }


def sqs_event_record(msg: Mapping[str, Any], queue_arn: str, region: str = "ap-northeast-2") -> dict:
    attrs = msg.get("Attributes", {})
    return {"messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"], "body": msg["Body"],
            "attributes": {"ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                           "SentTimestamp": attrs.get("SentTimestamp", str(int(time.time() * 1000))),
                           "SenderId": attrs.get("SenderId", "sori"),
                           "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", "")},
            "messageAttributes": {}, "md5OfBody": msg.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn, "awsRegion": region}


# ------------------------------------------------------------------------------------------- synthetic data

def sample_records(n: int, *, day: str = "2026-11-22", seed: int = 7) -> list[dict]:
    """``n`` valid records of every type (for benchmarks and tests), artists' records grouped together."""
    from sori.records import make_record

    rnd = random.Random(seed)
    out: list[dict] = []
    i = 0
    while len(out) < n:
        a = f"artist{i:06d}"
        at = f"{day}T18:{i % 60:02d}:{(i * 7) % 60:02d}Z"
        batch = [make_record("artist", {"artist_id": a, "name": f"Artist {i}", "genres": ["k-pop", "dance"],
                                        "popularity": rnd.randrange(100), "image_url": f"https://i/{a}.jpg"},
                             source="spotify", emitted_at=at)]
        for r in range(10):
            t = f"t{i:06d}{r:02d}"
            batch.append(make_record("top_track", {
                "artist_id": a, "track_id": t, "name": f"Song {r} of {i}", "rank": r + 1, "album": "Album",
                "album_image": f"https://i/{t}.jpg", "url": f"https://open.spotify.com/track/{t}",
                "popularity": rnd.randrange(100), "artist_name": f"Artist {i}", "via": "top-tracks"},
                source="spotify", emitted_at=at))
            batch.append(make_record("audio_features", {
                "track_id": t, "artist_id": a, "danceability": rnd.random(), "energy": rnd.random(),
                "loudness": -rnd.random() * 20, "speechiness": rnd.random(), "acousticness": rnd.random(),
                "instrumentalness": rnd.random(), "liveness": rnd.random(), "valence": rnd.random(),
                "tempo": 60 + rnd.random() * 120, "key": rnd.randrange(12), "mode": rnd.randrange(2),
                "duration_ms": 180000 + rnd.randrange(60000), "via": "reccobeats"}, source="reccobeats",
                emitted_at=at))
            batch.append(make_record("collection_member", {
                "kind": "chart", "collection_id": "regional-kr-weekly:2026-11-19", "artist_id": a, "track_id": t,
                "artist_name": f"Artist {i}"}, source="charts", emitted_at=at))
        batch.append(make_record("chart_entry", {
            "chart_id": "regional-kr-weekly", "country": "kr", "week": "2026-11-19", "rank": i % 200 + 1,
            "track_id": f"t{i:06d}00", "track_name": f"Song 0 of {i}", "artist_names": [f"Artist {i}"],
            "artist_ids": [a], "streams": rnd.randrange(10**6), "peak_rank": 1, "weeks_on_chart": 3},
            source="charts", emitted_at=at))
        batch.append(make_record("play", {
            "user_id": "me", "played_at": f"{day}T{i % 24:02d}:{i % 60:02d}:{(i * 13) % 60:02d}.{i % 1000:03d}Z",
            "track_id": f"t{i:06d}01", "artist_ids": [a], "artist_names": [f"Artist {i}"]},
            source="spotify", emitted_at=at))
        batch.append(make_record("followed_artist", {"user_id": "me", "artist_id": a, "name": f"Artist {i}",
                                                     "genres": ["k-pop"]}, source="spotify", emitted_at=at))
        out.extend(batch)
        i += 1
    return out[:n]


def aggregate(records: Iterable[Mapping[str, Any]], *, max_bytes: int = 64 * 1024) -> list[tuple[str, bytes]]:
    """KPL-aggregate encoded records (aws-kinesis-agg): ``[(partition_key, aggregated_blob)]``."""
    from aws_kinesis_agg.aggregator import RecordAggregator

    from sori.records import encode, partition_key

    agg = RecordAggregator(max_size=max_bytes)
    out = []
    for r in records:
        full = agg.add_user_record(partition_key(r), encode(r))
        if full is not None:
            pk, _ehk, blob = full.get_contents()
            out.append((pk, blob))
    if agg.get_num_user_records():
        pk, _ehk, blob = agg.clear_and_get().get_contents()
        out.append((pk, blob))
    return out


def synthetic_events(records: list[dict], *, batch_size: int = 100, aggregate_bytes: int = 64 * 1024,
                     shard_id: str = "shardId-000000000000",
                     stream_arn: str = "arn:aws:kinesis:ap-northeast-2:123456789012:stream/sori-records",
                     first_seq: int = 49650000000000000000000000000000000000000000000000000000) -> list[dict]:
    """Lambda-shaped Kinesis events of aggregated records, as the mapping would deliver them."""
    blobs = aggregate(records, max_bytes=aggregate_bytes)
    recs = [kinesis_event_record(shard_id=shard_id, sequence_number=str(first_seq + i * 10), partition_key=pk,
                                 data=blob, arrival=time.time(), stream_arn=stream_arn)
            for i, (pk, blob) in enumerate(blobs)]
    return [{"Records": recs[i:i + batch_size]} for i in range(0, len(recs), batch_size)]


# ------------------------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class MappingConfig:
    function: str
    source_arn: str = ""
    stream_name: str = ""
    queue_url: str = ""
    batch_size: int = 100
    maximum_batching_window_s: float = 0
    bisect: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_s: int = -1
    on_failure_queue_url: str = ""
    report_batch_item_failures: bool = False
    starting_position: str = "TRIM_HORIZON"
    parallelization_factor: int = 1

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MappingConfig:
        known = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in d.items() if k in known and v is not None}
        return cls(**kw)

    @property
    def key(self) -> str:
        return f"{self.function}|{self.source_arn or self.stream_name or self.queue_url}"

    @property
    def is_sqs(self) -> bool:
        return bool(self.queue_url) or self.source_arn.startswith("arn:aws:sqs")


class Checkpoints:
    """Durable per-shard checkpoints: ``{mapping key: {shard id: last processed sequence number}}``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.data: dict[str, dict[str, str]] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, mapping: str, shard: str) -> str | None:
        return self.data.get(mapping, {}).get(shard)

    def set(self, mapping: str, shard: str, seq: str) -> None:
        with self._lock:
            self.data.setdefault(mapping, {})[shard] = seq
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            os.replace(tmp, self.path)


def checkpoint_file(path: str | os.PathLike | None = None, directory: str | os.PathLike | None = None) -> Path:
    """Where checkpoints live: ``path``, else ``<directory>/kinesis.json``, else ``$SORI_HOME/checkpoints/…``."""
    if path:
        return Path(path)
    if directory is None:
        from local.stack import sori_home

        directory = sori_home() / "checkpoints"
    return Path(directory) / "kinesis.json"


def import_handler(dotted: str) -> Handler:
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


# ------------------------------------------------------------------------------------------- the runner

@dataclass
class _Shard:
    iterator: str | None = None
    buffer: list[dict] = field(default_factory=list)  # boto3 records read but not yet processed
    closed: bool = False


@dataclass
class MappingStats:
    invocations: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    records_processed: int = 0
    on_failure_records: int = 0
    records_expired: int = 0


class MappingRunner:
    """Emulates every event source mapping of a deployed stack (see module docstring)."""

    def __init__(self, deployed: Mapping[str, Any], handlers: Mapping[str, Handler] | None = None, *,
                 checkpoint_path: str | os.PathLike | None = None, checkpoint_dir: str | os.PathLike | None = None,
                 poll_interval_s: float = 0.25,
                 clock: Callable[[], float] = time.time, region: str | None = None, kinesis=None, sqs=None):
        self.deployed = deployed
        self.functions: Mapping[str, Mapping[str, Any]] = deployed.get("functions", {})
        self.mappings = [MappingConfig.from_dict(m) for m in deployed.get("event_source_mappings", ())
                         if m.get("enabled", True)]
        self._handlers = dict(handlers or {})
        self.checkpoints = Checkpoints(checkpoint_file(checkpoint_path, checkpoint_dir))
        self.poll_interval_s, self.clock = poll_interval_s, clock
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-2"
        self._kinesis, self._sqs = kinesis, sqs
        self._shards: dict[str, dict[str, _Shard]] = {}
        self._invoke_lock = threading.RLock()  # os.environ is process-wide: one invocation at a time
        self._poll_locks = {m.key: threading.Lock() for m in self.mappings}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stats: dict[str, MappingStats] = {m.key: MappingStats() for m in self.mappings}
        self.errors: list[str] = []  # poller errors (not function errors), newest last

    # -- clients -------------------------------------------------------------------------------------
    @property
    def kinesis(self):
        if self._kinesis is None:
            import boto3

            self._kinesis = boto3.client("kinesis", region_name=self.region)
        return self._kinesis

    @property
    def sqs(self):
        if self._sqs is None:
            import boto3

            self._sqs = boto3.client("sqs", region_name=self.region)
        return self._sqs

    # -- invocation ----------------------------------------------------------------------------------
    def handler(self, function: str) -> Handler:
        if function not in self._handlers:
            self._handlers[function] = import_handler(self.functions[function]["handler"])
        return self._handlers[function]

    def invoke(self, function: str, event: dict) -> Any:
        """Call a function's handler with its environment applied (raises what the handler raises)."""
        from sori.settings import get_settings

        spec = self.functions.get(function, {})
        env = {**{k: str(v) for k, v in (spec.get("environment") or {}).items()},
               "AWS_LAMBDA_FUNCTION_NAME": spec.get("name", function)}
        ctx = LocalLambdaContext(function_name=spec.get("name", function), region=self.region,
                                 timeout_s=float(spec.get("timeout") or 900),
                                 memory_limit_in_mb=int(spec.get("memory") or 512))
        with self._invoke_lock:
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            get_settings.cache_clear()
            try:
                return self.handler(function)(event, ctx)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                get_settings.cache_clear()

    # -- kinesis -------------------------------------------------------------------------------------
    def _stream_kw(self, m: MappingConfig) -> dict:
        return {"StreamARN": m.source_arn} if m.source_arn else {"StreamName": m.stream_name}

    def _list_shards(self, m: MappingConfig) -> list[str]:
        shards: list[str] = []
        token = None
        while True:
            kw = {"NextToken": token} if token else self._stream_kw(m)
            resp = self.kinesis.list_shards(**kw)
            shards.extend(s["ShardId"] for s in resp["Shards"])
            token = resp.get("NextToken")
            if not token:
                return shards

    def _iterator(self, m: MappingConfig, shard: str) -> str:
        seq = self.checkpoints.get(m.key, shard)
        kw = {**self._stream_kw(m), "ShardId": shard}
        if seq:
            kw.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
        else:
            kw.update(ShardIteratorType=m.starting_position if m.starting_position in ("LATEST", "TRIM_HORIZON")
                      else "TRIM_HORIZON")
        return self.kinesis.get_shard_iterator(**kw)["ShardIterator"]

    def _read(self, m: MappingConfig, shard: str, st: _Shard) -> bool:
        """Fill the shard's buffer; return whether the shard has more records beyond what was read."""
        if st.iterator is None:
            st.iterator = self._iterator(m, shard)
        while len(st.buffer) < m.batch_size:
            resp = self.kinesis.get_records(ShardIterator=st.iterator, Limit=max(1, m.batch_size - len(st.buffer)),
                                            **({"StreamARN": m.source_arn} if m.source_arn else {}))
            st.buffer.extend(resp["Records"])
            nxt = resp.get("NextShardIterator")
            if nxt is None:
                st.closed = True
                return False
            st.iterator = nxt
            if not resp["Records"]:
                return False
        return True

    def _arrival(self, r: Mapping[str, Any]) -> float:
        ts = r.get("ApproximateArrivalTimestamp")
        if isinstance(ts, dt.datetime):
            return ts.timestamp()
        return float(ts or self.clock())

    def _event(self, m: MappingConfig, shard: str, records: list[dict]) -> dict:
        arn = m.source_arn or f"arn:aws:kinesis:{self.region}:123456789012:stream/{m.stream_name}"
        return {"Records": [kinesis_event_record(shard_id=shard, sequence_number=r["SequenceNumber"],
                                                 partition_key=r["PartitionKey"], data=r["Data"],
                                                 arrival=self._arrival(r), stream_arn=arn, region=self.region)
                            for r in records]}

    def _on_failure(self, m: MappingConfig, shard: str, records: list[dict], condition: str, attempts: int,
                    function_error: str | None) -> None:
        st = self.stats[m.key]
        st.on_failure_records += 1
        log.warning("%s %s: %d record(s) skipped (%s)", m.function, shard, len(records), condition)
        if not m.on_failure_queue_url:
            return
        name = self.functions.get(m.function, {}).get("name", m.function)
        arn = m.source_arn or f"arn:aws:kinesis:{self.region}:123456789012:stream/{m.stream_name}"
        iso = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"  # noqa: E731
        msg = {
            "requestContext": {"requestId": str(uuid.uuid4()), "condition": condition,
                               "functionArn": f"arn:aws:lambda:{self.region}:123456789012:function:{name}",
                               "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                **({"functionError": function_error} if function_error else {})},
            "version": "1.0", "timestamp": iso(self.clock()),
            "KinesisBatchInfo": {"shardId": shard, "startSequenceNumber": records[0]["SequenceNumber"],
                                 "endSequenceNumber": records[-1]["SequenceNumber"],
                                 "approximateArrivalOfFirstRecord": iso(self._arrival(records[0])),
                                 "approximateArrivalOfLastRecord": iso(self._arrival(records[-1])),
                                 "batchSize": len(records), "streamArn": arn},
        }
        self.sqs.send_message(QueueUrl=m.on_failure_queue_url, MessageBody=json.dumps(msg))

    def _expire(self, m: MappingConfig, shard: str, batch: list[dict], attempts: int) -> list[dict]:
        """Drop (and report) leading records older than the mapping's maximum record age."""
        if m.maximum_record_age_s is None or m.maximum_record_age_s < 0:
            return batch
        limit = self.clock() - m.maximum_record_age_s
        n = 0
        while n < len(batch) and self._arrival(batch[n]) < limit:
            n += 1
        if n:
            self.stats[m.key].records_expired += n
            self._on_failure(m, shard, batch[:n], "RecordAgeExceeded", attempts, None)
            self.checkpoints.set(m.key, shard, batch[n - 1]["SequenceNumber"])
        return batch[n:]

    def _process(self, m: MappingConfig, shard: str, batch: list[dict]) -> None:
        """Run one batch to completion: success, partial retries, bisection, retries exhausted or expiry."""
        st = self.stats[m.key]
        pending: list[tuple[list[dict], int]] = [(batch, 0)]  # (records, retries so far)
        while pending:
            records, retries = pending.pop(0)
            records = self._expire(m, shard, records, retries)
            if not records:
                continue
            st.invocations += 1
            error = None
            try:
                resp = self.invoke(m.function, self._event(m, shard, records))
            except Exception as e:
                error = f"{type(e).__name__}: {e}"
                log.warning("%s %s: function error: %s", m.function, shard, error)
            if error is None:
                failed_at = self._lowest_failure(m, records, resp)
                if failed_at is None:
                    self.checkpoints.set(m.key, shard, records[-1]["SequenceNumber"])
                    st.records_processed += len(records)
                    continue
                st.partial_failures += 1
                if failed_at > 0:
                    self.checkpoints.set(m.key, shard, records[failed_at - 1]["SequenceNumber"])
                    st.records_processed += failed_at
                remainder = records[failed_at:]
                if m.maximum_retry_attempts >= 0 and retries >= m.maximum_retry_attempts:
                    self._on_failure(m, shard, remainder, "RetryAttemptsExhausted", retries + 1, None)
                    self.checkpoints.set(m.key, shard, remainder[-1]["SequenceNumber"])
                    continue
                pending.insert(0, (remainder, retries + 1))
                continue
            st.function_errors += 1
            if m.bisect and len(records) > 1:  # splitting does not count as a retry
                mid = len(records) // 2
                pending[0:0] = [(records[:mid], retries), (records[mid:], retries)]
                continue
            if m.maximum_retry_attempts >= 0 and retries >= m.maximum_retry_attempts:
                self._on_failure(m, shard, records, "RetryAttemptsExhausted", retries + 1, "Unhandled")
                self.checkpoints.set(m.key, shard, records[-1]["SequenceNumber"])
                continue
            pending.insert(0, (records, retries + 1))

    @staticmethod
    def _lowest_failure(m: MappingConfig, records: list[dict], resp: Any) -> int | None:
        """Index of the first record to retry, or None for success."""
        if not m.report_batch_item_failures or not isinstance(resp, Mapping):
            return None
        failures = resp.get("batchItemFailures")
        if not failures:
            return None
        index = {r["SequenceNumber"]: i for i, r in enumerate(records)}
        lowest = None
        for f in failures:
            ident = f.get("itemIdentifier") if isinstance(f, Mapping) else None
            if not ident or ident not in index:
                return 0  # Lambda: an invalid identifier fails the whole batch
            lowest = index[ident] if lowest is None else min(lowest, index[ident])
        return lowest

    def _batch(self, m: MappingConfig, buffer: list[dict]) -> list[dict]:
        size, n = 0, 0
        for r in buffer[:m.batch_size]:
            size += len(r["Data"]) * 4 // 3 + 512
            if n and size > MAX_PAYLOAD:
                break
            n += 1
        return buffer[:n]

    def poll_kinesis(self, m: MappingConfig, *, flush: bool = False) -> int:
        """One pass over every shard of a stream mapping; return the number of records handled."""
        handled = 0
        shards = self._shards.setdefault(m.key, {})
        for shard in self._list_shards(m):
            st = shards.setdefault(shard, _Shard())
            while True:
                more = self._read(m, shard, st)
                if not st.buffer:
                    break
                if (not more and not flush and len(st.buffer) < m.batch_size and m.maximum_batching_window_s > 0
                        and self.clock() - self._arrival(st.buffer[0]) < m.maximum_batching_window_s):
                    break  # wait for a fuller batch, as Lambda's batching window does
                batch = self._batch(m, st.buffer)
                del st.buffer[:len(batch)]
                self._process(m, shard, batch)
                handled += len(batch)
                if not more and not st.buffer:
                    break
        return handled

    # -- sqs -----------------------------------------------------------------------------------------
    def poll_sqs(self, m: MappingConfig, *, flush: bool = False) -> int:
        url = m.queue_url
        arn = m.source_arn or self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        handled = 0
        while True:
            msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, m.batch_size),
                                            AttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
            if not msgs:
                return handled
            event = {"Records": [sqs_event_record(x, arn, self.region) for x in msgs]}
            st = self.stats[m.key]
            st.invocations += 1
            done = msgs
            try:
                resp = self.invoke(m.function, event)
                if m.report_batch_item_failures and isinstance(resp, Mapping) and resp.get("batchItemFailures"):
                    bad = {f.get("itemIdentifier") for f in resp["batchItemFailures"]}
                    done = [x for x in msgs if x["MessageId"] not in bad]
                    st.partial_failures += 1
            except Exception as e:
                log.warning("%s: function error: %s", m.function, e)
                st.function_errors += 1
                done = []
            if done:
                self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": x["ReceiptHandle"]} for i, x in enumerate(done)])
            st.records_processed += len(done)
            handled += len(msgs)
            if len(done) < len(msgs):
                return handled  # failed messages stay invisible until their timeout

    # -- driving -------------------------------------------------------------------------------------
    def poll_once(self, *, flush: bool = False) -> int:
        """One pass over every mapping; return the number of records/messages handled."""
        handled = 0
        for m in self.mappings:
            handled += self._poll(m, flush=flush)
        return handled

    def _poll(self, m: MappingConfig, *, flush: bool) -> int:
        with self._poll_locks[m.key]:
            try:
                return self.poll_sqs(m, flush=flush) if m.is_sqs else self.poll_kinesis(m, flush=flush)
            except Exception as e:
                log.exception("poller error on %s", m.key)
                self.errors.append(f"{m.key}: {type(e).__name__}: {e}")
                del self.errors[:-50]
                self._shards.pop(m.key, None)  # re-read from checkpoints
                return 0

    def _loop(self, m: MappingConfig) -> None:
        while not self._stop.is_set():
            if self._poll(m, flush=False) == 0:
                self._stop.wait(self.poll_interval_s)

    def start(self) -> None:
        """Consume continuously in background threads (one per mapping) until :meth:`stop`."""
        if self._threads:
            return
        self._stop.clear()
        for m in self.mappings:
            t = threading.Thread(target=self._loop, args=(m,), name=f"mapping-{m.function}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def drain(self, timeout: float = 60) -> bool:
        """Process everything put so far (batching windows flushed); True once every source is caught up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handled = sum(self._poll(m, flush=True) for m in self.mappings)
            if handled == 0 and self._caught_up():
                return True
            if handled == 0:
                time.sleep(min(self.poll_interval_s, 0.1))
        return False

    def _caught_up(self) -> bool:
        return not any(pending(self.mappings, self.checkpoints, kinesis=self.kinesis, sqs=self.sqs).values())

    def status(self) -> dict:
        return {"mappings": {m.key: vars(self.stats[m.key]) for m in self.mappings},
                "checkpoints": self.checkpoints.data, "errors": self.errors[-5:]}


# ------------------------------------------------------------------------------------------- drained?

def pending(mappings: Iterable[MappingConfig], checkpoints: Checkpoints, *, kinesis, sqs) -> dict[str, int]:
    """Per mapping: records after the checkpoint (0 or 1: existence is enough) or messages in the queue."""
    out: dict[str, int] = {}
    for m in mappings:
        if m.is_sqs:
            a = sqs.get_queue_attributes(QueueUrl=m.queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            out[m.key] = (int(a.get("ApproximateNumberOfMessages", 0))
                          + int(a.get("ApproximateNumberOfMessagesNotVisible", 0)))
            continue
        stream = {"StreamARN": m.source_arn} if m.source_arn else {"StreamName": m.stream_name}
        n = 0
        for shard in kinesis.list_shards(**stream)["Shards"]:
            seq = checkpoints.get(m.key, shard["ShardId"])
            if not seq and m.starting_position == "LATEST":
                continue  # nothing consumed yet from LATEST: records put before the runner started are not owed
            kw = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": seq} if seq else {
                "ShardIteratorType": "TRIM_HORIZON"}
            it = kinesis.get_shard_iterator(**stream, ShardId=shard["ShardId"], **kw)["ShardIterator"]
            n += len(kinesis.get_records(ShardIterator=it, Limit=1,
                                         **({"StreamARN": m.source_arn} if m.source_arn else {}))["Records"])
        out[m.key] = n
    return out


def wait_drained(deployed: Mapping[str, Any], *, checkpoint_path: str | os.PathLike | None = None,
                 checkpoint_dir: str | os.PathLike | None = None, timeout: float = 120,
                 poll_s: float = 0.25) -> bool:
    """From another process: wait until the runner's checkpoints reached every stream's latest record
    and every SQS source is empty. True when drained, False on timeout."""
    import boto3

    mappings = [MappingConfig.from_dict(m) for m in deployed.get("event_source_mappings", ()) if m.get("enabled", True)]
    region = deployed.get("region") or os.environ.get("AWS_DEFAULT_REGION") or "ap-northeast-2"
    kinesis, sqs = boto3.client("kinesis", region_name=region), boto3.client("sqs", region_name=region)
    path = checkpoint_file(checkpoint_path, checkpoint_dir)
    deadline = time.monotonic() + timeout
    while True:
        if not any(pending(mappings, Checkpoints(path), kinesis=kinesis, sqs=sqs).values()):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
