"""Kinesis producer: KPL-aggregated user records, grouped per target shard, PutRecords with partial-failure retries.

>>> p = KinesisProducer("sori-records")                                  # doctest: +SKIP
>>> report = p.put([make_record("artist", {...}, source="spotify")])     # doctest: +SKIP
>>> report.user_records, report.kinesis_records, report.put_units       # doctest: +SKIP
(1, 1, 1)

How it spends as little as possible (docs/ARCHITECTURE.md §6.2):

- every user record is routed to the shard its partition key hashes to (MD5 of the key, as Kinesis does), and
  aggregated (aws-kinesis-agg) with other records of *that* shard, so an aggregate lands where each of its user
  records would have landed alone and per-key ordering holds;
- aggregates are filled up to a whole number of 25 KB PUT payload units (40 units, below the 1 MiB record cap), so
  only the last aggregate per shard wastes part of a unit;
- PutRecords calls carry at most 500 records and 5 MiB;
- only the entries that failed are retried (exponential backoff with full jitter); whole-call throttling errors
  retry the whole call; after ``max_attempts`` :class:`UnsentRecordsError` says how many *user* records were not
  sent — nothing is dropped silently.
"""
from __future__ import annotations

import hashlib
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_kinesis_agg.aggregator import RecordAggregator

from sori.records import encode, partition_key

#: Kinesis bills writes in 25 KB PUT payload units.
PUT_UNIT_BYTES = 25 * 1024
#: Hard per-record cap (data + partition key).
MAX_RECORD_BYTES = 1024 * 1024
#: Aggregates are cut at 40 payload units minus room for the partition key: a whole number of units, < 1 MiB.
AGGREGATE_BYTES = 40 * PUT_UNIT_BYTES - 256
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024

_RETRYABLE_CALL_ERRORS = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "LimitExceededException",
    "InternalFailure", "ServiceUnavailable", "KMSThrottlingException",
})


class UnsentRecordsError(RuntimeError):
    """Some user records could not be put after every retry. ``count`` user records were not sent."""

    def __init__(self, count: int, last_error: str = "", report: PutReport | None = None):
        super().__init__(f"{count} user records unsent after retries (last error: {last_error or 'unknown'})")
        self.count = count
        self.last_error = last_error
        self.report = report


@dataclass
class PutReport:
    """What one :meth:`KinesisProducer.put` sent: user records, Kinesis (aggregated) records, 25 KB PUT payload
    units and bytes (data + partition keys) — retries not counted twice. ``calls``/``retried`` describe effort."""

    user_records: int = 0
    kinesis_records: int = 0
    put_units: int = 0
    bytes: int = 0
    calls: int = 0
    retried: int = 0

    def add(self, other: PutReport) -> PutReport:
        for k in ("user_records", "kinesis_records", "put_units", "bytes", "calls", "retried"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"user_records": self.user_records, "kinesis_records": self.kinesis_records,
                "put_units": self.put_units, "bytes": self.bytes, "calls": self.calls, "retried": self.retried}


def put_units(size: int) -> int:
    """25 KB PUT payload units one record of ``size`` bytes costs.

    >>> put_units(1), put_units(25 * 1024), put_units(25 * 1024 + 1)
    (1, 1, 2)
    """
    return max(1, -(-size // PUT_UNIT_BYTES))


def hash_key(pk: str) -> int:
    """The 128-bit hash key Kinesis derives from a partition key (MD5, big-endian)."""
    return int.from_bytes(hashlib.md5(pk.encode("utf-8")).digest(), "big")


@dataclass
class _Entry:
    pk: str
    data: bytes
    ehk: str | None
    users: int  # user records inside

    @property
    def size(self) -> int:
        return len(self.data) + len(self.pk.encode("utf-8"))

    def request(self) -> dict[str, Any]:
        e = {"Data": self.data, "PartitionKey": self.pk}
        if self.ehk:  # leave ExplicitHashKey out when None (aws-kinesis-agg quirk, docs/ARCHITECTURE.md §6.2)
            e["ExplicitHashKey"] = self.ehk
        return e


@dataclass
class ShardMap:
    """Open shards' starting hash keys, sorted, for routing a partition key to its shard."""

    starts: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @classmethod
    def from_shards(cls, shards: Iterable[Mapping[str, Any]]) -> ShardMap:
        open_ = [s for s in shards if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {})]
        rows = sorted((int(s["HashKeyRange"]["StartingHashKey"]), s["ShardId"]) for s in open_)
        return cls([r[0] for r in rows], [r[1] for r in rows])

    def shard_for(self, pk: str) -> str:
        if not self.ids:
            return "shard"
        return self.ids[max(0, bisect_right(self.starts, hash_key(pk)) - 1)]


class KinesisProducer:
    """Aggregating, shard-aware Kinesis writer. One instance per run; not thread-safe.

    ``client`` defaults to ``boto3.client("kinesis")`` (reaches moto locally through ``AWS_ENDPOINT_URL``).
    ``sleep``/``rng`` are injectable so tests run without waiting.
    """

    def __init__(self, stream_name: str, client: Any = None, max_attempts: int = 6, *, base_delay: float = 0.1,
                 max_delay: float = 5.0, aggregate_bytes: int = AGGREGATE_BYTES,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 shard_map: ShardMap | None = None):
        if client is None:
            import boto3

            client = boto3.client("kinesis")
        self.stream_name = stream_name
        self.client = client
        self.max_attempts = max(1, max_attempts)
        self.base_delay, self.max_delay = base_delay, max_delay
        self.aggregate_bytes = aggregate_bytes
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._shards = shard_map
        self.total = PutReport()

    # -- routing -------------------------------------------------------------------------------------------------
    def shard_map(self) -> ShardMap:
        if self._shards is None:
            shards, token = [], None
            while True:
                kw = {"NextToken": token} if token else {"StreamName": self.stream_name}
                resp = self.client.list_shards(**kw)
                shards.extend(resp.get("Shards", []))
                token = resp.get("NextToken")
                if not token:
                    break
            self._shards = ShardMap.from_shards(shards)
        return self._shards

    # -- aggregation ---------------------------------------------------------------------------------------------
    def aggregate(self, records: Iterable[Mapping[str, Any] | tuple[str, bytes]]) -> Iterable[_Entry]:
        """Yield aggregated Kinesis entries; records are contract dicts or ``(partition_key, data)`` pairs."""
        shards = self.shard_map()
        aggs: dict[str, RecordAggregator] = {}
        for rec in records:
            if isinstance(rec, tuple):
                pk, data = rec
            else:
                pk, data = partition_key(rec), encode(rec)
            shard = shards.shard_for(pk)
            agg = aggs.get(shard)
            if agg is None:
                agg = aggs[shard] = RecordAggregator(max_size=self.aggregate_bytes)
            # bytes, not str: aws-kinesis-agg 1.2.x sizes a str key against a key table it fills with the raw key and
            # never finds it, charging every record for a new table entry (aggregates closed ~5 % short of the cap);
            # a bytes key is found, and sized in bytes rather than characters
            full = agg.add_user_record(pk.encode("utf-8"), data)
            if full is not None:
                yield self._entry(full)
        for agg in aggs.values():
            rest = agg.clear_and_get()
            if rest is not None:
                yield self._entry(rest)

    @staticmethod
    def _entry(agg: Any) -> _Entry:
        pk, ehk, data = agg.get_contents()
        return _Entry(pk if isinstance(pk, str) else pk.decode("utf-8"), data, ehk or None,
                      agg.get_num_user_records())

    # -- sending -------------------------------------------------------------------------------------------------
    def put(self, records: Iterable[Mapping[str, Any] | tuple[str, bytes]]) -> PutReport:
        """Aggregate and put ``records``; returns this call's :class:`PutReport` (also added to ``self.total``).

        Raises :class:`UnsentRecordsError` (after trying every batch) when some records could not be sent.
        """
        report = PutReport()
        batch: list[_Entry] = []
        batch_bytes = 0
        unsent, last_error = 0, ""
        for entry in self.aggregate(records):
            if entry.size > MAX_RECORD_BYTES:
                raise ValueError(f"aggregated record of {entry.size} bytes exceeds the 1 MiB record limit")
            if batch and (len(batch) >= MAX_BATCH_RECORDS or batch_bytes + entry.size > MAX_BATCH_BYTES):
                u, last_error = self._send(batch, report) or (0, last_error)
                unsent += u
                batch, batch_bytes = [], 0
            batch.append(entry)
            batch_bytes += entry.size
        if batch:
            u, last_error = self._send(batch, report) or (0, last_error)
            unsent += u
        self.total.add(report)
        if unsent:
            raise UnsentRecordsError(unsent, last_error, report)
        return report

    def _backoff(self, attempt: int) -> None:
        # full jitter: uniform(0, min(cap, base * 2^attempt))
        self.sleep(self.rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** attempt))))

    def _send(self, batch: list[_Entry], report: PutReport) -> tuple[int, str] | None:
        """PutRecords one batch, retrying only failed entries. Returns (unsent user records, last error) or None."""
        pending = batch
        last_error = ""
        for attempt in range(self.max_attempts):
            if attempt:
                report.retried += len(pending)
                self._backoff(attempt)
            report.calls += 1
            try:
                resp = self.client.put_records(StreamName=self.stream_name,
                                               Records=[e.request() for e in pending])
            except Exception as e:  # botocore ClientError: whole call failed
                code = getattr(e, "response", {}).get("Error", {}).get("Code", "")
                if code not in _RETRYABLE_CALL_ERRORS and not _is_transient(e):
                    raise
                last_error = code or type(e).__name__
                continue
            failed = []
            for entry, result in zip(pending, resp.get("Records", []), strict=False):
                if result.get("ErrorCode"):
                    failed.append(entry)
                    last_error = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}".strip()
                else:
                    report.user_records += entry.users
                    report.kinesis_records += 1
                    report.put_units += put_units(entry.size)
                    report.bytes += entry.size
            if len(resp.get("Records", [])) < len(pending):  # defensive: a short answer means unknown outcome
                failed.extend(pending[len(resp.get("Records", [])):])
            if not failed:
                return None
            pending = failed
        return sum(e.users for e in pending), last_error


def _is_transient(exc: Exception) -> bool:
    name = type(exc).__name__
    return name in {"EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError"}


def floor_units(total_bytes: int) -> float:
    """The lower bound on PUT payload units for ``total_bytes`` of payload (bench: ``total / 25 KB``)."""
    return total_bytes / PUT_UNIT_BYTES
