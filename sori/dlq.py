"""Dead letters: the message format poison records are parked in, sending them, and redriving them.

Two kinds of message reach a consumer's DLQ (``DynamoSinkDLQ`` / ``S3SinkDLQ``):

* **poison records** dead-lettered by the consumer code itself, one message per user record::

    {"reason": "unsupported version 2 for type artist (supported: [1])", "record": "<payload>",
     "encoding": "utf-8", "shard_id": "shardId-000000000000", "sequence_number": "4959…",
     "sub_sequence_number": 3, "partition_key": "3Nrfpe0…", "function": "sori-s3-sink",
     "failed_at": "2026-11-22T18:00:03Z"}

  ``record`` is the payload as text, or base64 (``"encoding": "base64"``) when it is not UTF-8. A payload too big
  for an SQS message (256 KiB; Kinesis records go up to 1 MiB) is parked in S3 instead — claim check: the message
  carries ``"encoding": "s3"`` and ``"record_s3": "s3://<bucket>/dlq/<function>/<shard>/<seq>-<sub>.bin"`` (a
  deterministic name, so a retried batch overwrites its own object) and :func:`payload_of` reads it back.

* **on-failure records** sent by the event source mapping when a batch exhausted its retries or aged out
  (Lambda's shape: ``requestContext`` + ``KinesisBatchInfo{shardId, startSequenceNumber, endSequenceNumber,
  batchSize, streamArn}``). They carry no payload: redrive reads the range back from the stream.

Redrive puts payloads back on the stream (or hands them straight to a fixed consumer) and deletes each
message only after that succeeded. Sinks are idempotent on the record id, so a redrive that is interrupted
and run again, or that overlaps an earlier one, leaves the same result.

>>> m = poison_message(b'{"type":"x"}', reason="unknown type 'x'", shard_id="shardId-0", sequence_number="1",
...                    sub_sequence_number=None, function="f", failed_at="2026-11-22T00:00:00Z")
>>> payload_of(m)
b'{"type":"x"}'
"""
from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sori._types import BotoClient
from sori.records import RecordError, utc_now, validate

log = logging.getLogger(__name__)

#: SQS caps a message (and a SendMessageBatch request) at 256 KiB; stay under it with headroom.
MAX_BATCH_BYTES = 240 * 1024
MAX_BATCH_COUNT = 10
#: A dead letter bigger than this (as JSON) has its payload parked in S3 (claim check).
MAX_MESSAGE_BYTES = MAX_BATCH_BYTES


def _boto3_client(name: str) -> BotoClient:
    import boto3  # lazy: importing this module stays cheap

    return boto3.client(name)


def poison_message(payload: bytes, *, reason: str, shard_id: str, sequence_number: str,
                   sub_sequence_number: int | None, function: str, partition_key: str = "",
                   failed_at: str | None = None) -> dict[str, Any]:
    """The dead-letter message for one user record that can never be processed."""
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    return {"reason": reason, "record": text, "encoding": encoding, "shard_id": shard_id,
            "sequence_number": sequence_number, "sub_sequence_number": sub_sequence_number,
            "partition_key": partition_key, "function": function, "failed_at": failed_at or utc_now()}


def payload_of(message: Mapping[str, Any], s3: BotoClient = None) -> bytes:
    """The original payload bytes of a poison message (read from S3 when it was parked there)."""
    if message.get("encoding") == "s3":
        bucket, key = split_s3_url(message["record_s3"])
        body: bytes = (s3 or _boto3_client("s3")).get_object(Bucket=bucket, Key=key)["Body"].read()
        return body
    if message.get("encoding") == "base64":
        return base64.b64decode(message["record"])
    return str(message["record"]).encode("utf-8")


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``.

    >>> split_s3_url("s3://sori-data/dlq/f/shardId-0/1-0.bin")
    ('sori-data', 'dlq/f/shardId-0/1-0.bin')
    """
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise ValueError(f"not an s3:// object url: {url!r}")
    bucket, key = url[5:].split("/", 1)
    return bucket, key


def claim_check_key(message: Mapping[str, Any], prefix: str = "dlq") -> str:
    """Where an oversize poison payload is parked: one deterministic name per user record.

    >>> claim_check_key({"function": "sori-s3-sink", "shard_id": "shardId-000000000001",
    ...                  "sequence_number": "4959", "sub_sequence_number": 3})
    'dlq/sori-s3-sink/shardId-000000000001/4959-3.bin'
    """
    sub = message.get("sub_sequence_number")
    return (f"{prefix.strip('/')}/{message.get('function') or 'unknown'}/{message.get('shard_id') or 'unknown'}/"
            f"{message.get('sequence_number') or 'unknown'}-{0 if sub is None else sub}.bin")


def is_on_failure_record(message: Mapping[str, Any]) -> bool:
    """Whether a message is the event source mapping's on-failure record (no payload inside)."""
    return "KinesisBatchInfo" in message


def is_async_failure_record(message: Mapping[str, Any]) -> bool:
    """Whether a message is Lambda's on-failure record of an asynchronous invocation (an S3 drop event that
    failed through every retry): ``requestContext{condition, approximateInvokeCount}``, ``requestPayload`` (the
    original event) and ``responsePayload`` (the error)."""
    return "requestPayload" in message and "requestContext" in message


class DeadLetterQueue:
    """Sends dead-letter messages to one SQS queue; payloads too big for SQS go to ``overflow_bucket`` first.

    >>> dlq = DeadLetterQueue("")  # no queue configured: sending raises, nothing is silently dropped
    >>> dlq = DeadLetterQueue("https://sqs…/s3-sink-dlq", overflow_bucket="sori-data")   # doctest: +SKIP
    """

    def __init__(self, queue_url: str, client: BotoClient = None, *, overflow_bucket: str = "",
                 overflow_prefix: str = "dlq", s3: BotoClient = None):
        self.queue_url = queue_url
        self._client = client
        self.overflow_bucket = overflow_bucket
        self.overflow_prefix = overflow_prefix
        self._s3 = s3

    @property
    def client(self) -> BotoClient:
        if self._client is None:
            self._client = _boto3_client("sqs")
        return self._client

    def send(self, messages: list[dict[str, Any]]) -> list[int]:
        """Send messages (batched by count and size); return the indices that could not be sent.

        Raises ``RuntimeError`` when no queue is configured: poison must never vanish quietly.
        """
        if not messages:
            return []
        if not self.queue_url:
            raise RuntimeError("no dead-letter queue configured (SORI_DLQ_URL)")
        failed: list[int] = []
        bodies: list[str | None] = []
        for i, m in enumerate(messages):
            body: str | None = json.dumps(m, ensure_ascii=False)
            if body is not None and len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
                body = self._claim_check(m)
                if body is None:
                    failed.append(i)
            bodies.append(body)
        for chunk in _chunks(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in chunk]
            try:
                resp = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception:
                log.exception("dead-letter send failed")
                failed.extend(i for i, _ in chunk)
                continue
            failed.extend(int(f["Id"]) for f in resp.get("Failed", ()))
        return sorted(failed)

    def _claim_check(self, message: Mapping[str, Any]) -> str | None:
        """Park an oversize message's payload in S3; the small message that points at it, or None (not parked)."""
        if "record" not in message or not self.overflow_bucket:
            log.error("dead letter of %s exceeds SQS's 256 KiB and no SORI_DLQ_BUCKET is set to park its payload",
                      message.get("sequence_number"))
            return None
        self._s3 = self._s3 or _boto3_client("s3")
        key = claim_check_key(message, self.overflow_prefix)
        payload = payload_of(message)
        try:
            self._s3.put_object(Bucket=self.overflow_bucket, Key=key, Body=payload)
        except Exception:
            log.exception("parking an oversize dead letter in s3://%s/%s failed", self.overflow_bucket, key)
            return None
        small = {k: v for k, v in message.items() if k != "record"}
        small.update(encoding="s3", record_s3=f"s3://{self.overflow_bucket}/{key}", record_bytes=len(payload))
        return json.dumps(small, ensure_ascii=False)


def _chunks(bodies: list[str | None]) -> Iterable[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    size = 0
    for i, body in enumerate(bodies):
        if body is None:  # could not be made small enough: already counted as failed
            continue
        n = len(body.encode("utf-8"))
        if chunk and (len(chunk) == MAX_BATCH_COUNT or size + n > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append((i, body))
        size += n
    if chunk:
        yield chunk


# ------------------------------------------------------------------ redrive

@dataclass
class RedriveReport:
    received: int = 0
    redriven: int = 0  # user records (or stream records, for on-failure messages) sent on
    deleted: int = 0  # messages removed from the DLQ
    still_poison: list[str] = field(default_factory=list)  # reasons of records that still fail validation
    failed: int = 0  # messages left in the queue because sending them on failed

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "redriven": self.redriven, "deleted": self.deleted,
                "still_poison": len(self.still_poison), "failed": self.failed}


#: ``(partition_key, payload)`` pairs → sends them on; raises on failure.
Sender = Callable[[list[tuple[str, bytes]]], None]


def stream_sender(stream_name: str, client: BotoClient = None) -> Sender:
    """A sender that puts payloads back on the Kinesis stream (retrying failed entries)."""
    kinesis = client or _boto3_client("kinesis")

    def send(items: list[tuple[str, bytes]]) -> None:
        for start in range(0, len(items), 500):
            pending = [{"PartitionKey": pk or "sori", "Data": data} for pk, data in items[start:start + 500]]
            for attempt in range(6):
                resp = kinesis.put_records(StreamName=stream_name, Records=pending)
                if not resp.get("FailedRecordCount"):
                    break
                pending = [e for e, r in zip(pending, resp["Records"], strict=False) if r.get("ErrorCode")]
                time.sleep(min(2.0, 0.05 * 2 ** attempt))
            else:
                raise RuntimeError(f"{len(pending)} records could not be put back on {stream_name}")

    return send


def read_stream_range(kinesis: BotoClient, stream_arn: str, shard: str, start_seq: str,
                      end_seq: str) -> list[dict[str, Any]]:
    """Kinesis records ``start_seq..end_seq`` of one shard (still retained), boto3-shaped."""
    it = kinesis.get_shard_iterator(StreamARN=stream_arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                    StartingSequenceNumber=start_seq)["ShardIterator"]
    out: list[dict[str, Any]] = []
    end = int(end_seq)
    for _ in range(10_000):
        resp = kinesis.get_records(ShardIterator=it, Limit=1000, StreamARN=stream_arn)
        for r in resp["Records"]:
            if int(r["SequenceNumber"]) > end:
                return out
            out.append(r)
        it = resp.get("NextShardIterator")
        if not it or (not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0):
            break
    return out


def _queue_pass(sqs: BotoClient, queue_url: str, handle: Callable[[dict[str, Any]], bool],
                max_messages: int | None = None) -> tuple[int, int]:
    """Receive every message of ``queue_url`` once. ``handle(message)`` returns True to delete it (batched) or
    False to keep it: kept messages stay invisible for the rest of the pass (so it moves on to the others) and are
    made visible again at its end. Returns (received, deleted)."""
    kept: dict[str, str] = {}  # message id -> receipt handle
    received = deleted = 0
    while max_messages is None or received < max_messages:
        n = 10 if max_messages is None else min(10, max_messages - received)
        msgs = [m for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=n, WaitTimeSeconds=0,
                                               VisibilityTimeout=300).get("Messages", [])
                if m["MessageId"] not in kept]
        if not msgs:
            break
        received += len(msgs)
        done = []
        for m in msgs:
            if handle(m):
                done.append(m)
            else:
                kept[m["MessageId"]] = m["ReceiptHandle"]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
            deleted += len(chunk)
    for receipt in kept.values():  # visible again at once, for a later pass after the next fix
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return received, deleted


def redrive(queue_url: str, send: Sender, *, sqs: BotoClient = None, kinesis: BotoClient = None,
            s3: BotoClient = None, max_messages: int | None = None,
            revalidate: bool = True) -> RedriveReport:
    """Replay dead-lettered records through ``send`` and delete each message once it is sent on.

    Poison messages whose payload still fails the (fixed) record contract are left in the queue (made
    visible again) and counted in ``still_poison`` when ``revalidate`` is set — replaying them would only
    bounce them back. On-failure messages are resolved by reading their sequence range from the stream.
    Payloads parked in S3 (claim check) are read from there, and their objects removed once the message is.
    """
    report = RedriveReport()
    parked: list[str] = []

    def handle(m: dict[str, Any]) -> bool:
        try:
            body = json.loads(m["Body"])
            items = _items_of(body, kinesis, s3)
        except Exception as e:
            log.warning("cannot redrive message %s: %s", m.get("MessageId"), e)
            report.failed += 1
            return False
        if revalidate and not is_on_failure_record(body):
            try:
                validate(items[0][1])
            except RecordError as e:
                report.still_poison.append(e.reason)
                return False
        try:
            send(items)
        except Exception as e:
            log.warning("redrive send failed: %s", e)
            report.failed += 1
            return False
        report.redriven += len(items)
        if body.get("encoding") == "s3":
            parked.append(body["record_s3"])
        return True

    report.received, report.deleted = _queue_pass(sqs or _boto3_client("sqs"), queue_url, handle, max_messages)
    for url in parked:  # best effort, once their messages are gone: the lifecycle rule expires what is left
        try:
            bucket, key = split_s3_url(url)
            s3 = s3 or _boto3_client("s3")
            s3.delete_object(Bucket=bucket, Key=key)
        except Exception as e:
            log.warning("could not remove parked dead letter %s: %s", url, e)
    return report


def reinvoke(queue_url: str, invoke: Callable[[Any], Any], *, sqs: BotoClient = None,
             max_messages: int | None = None) -> RedriveReport:
    """Run the failed asynchronous invocations parked on ``queue_url`` again: ``invoke(request_payload)`` per
    on-failure record, which is deleted once ``invoke`` returns. Anything else on the queue (a rejected chart
    file's reason, say) is left where it is: it needs a fixed input, not another run.

    >>> reinvoke(url, lambda event: charts.s3_handler(event, context))        # doctest: +SKIP
    RedriveReport(received=2, redriven=1, deleted=1, still_poison=[], failed=0)
    """
    report = RedriveReport()

    def handle(m: dict[str, Any]) -> bool:
        try:
            body = json.loads(m["Body"])
        except ValueError:
            return False
        if not is_async_failure_record(body):
            return False
        try:
            invoke(body["requestPayload"])
        except Exception as e:
            log.warning("re-invocation failed: %s", e)
            report.failed += 1
            return False
        report.redriven += 1
        return True

    report.received, report.deleted = _queue_pass(sqs or _boto3_client("sqs"), queue_url, handle, max_messages)
    return report


def _items_of(body: Mapping[str, Any], kinesis: BotoClient, s3: BotoClient = None) -> list[tuple[str, bytes]]:
    if is_on_failure_record(body):
        info = body["KinesisBatchInfo"]
        kinesis = kinesis or _boto3_client("kinesis")
        recs = read_stream_range(kinesis, info["streamArn"], info["shardId"], info["startSequenceNumber"],
                                 info["endSequenceNumber"])
        return [(r["PartitionKey"], r["Data"]) for r in recs]
    return [(body.get("partition_key") or "", payload_of(body, s3))]
