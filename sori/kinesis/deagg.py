"""Consumer side of the Kinesis codec: KPL-aggregated Lambda records back into user records.

A Lambda Kinesis event carries *Kinesis records*; a producer that aggregates (aws-kinesis-agg / KPL) packs
many *user records* into each one. This module unpacks them with the aws-kinesis-agg wire format (its
``MAGIC`` header, protobuf ``AggregatedRecord`` and MD5 trailer) without the library's per-record dict
building, which costs more than the rest of the s3 sink's hot path put together.

>>> import base64
>>> from aws_kinesis_agg.aggregator import RecordAggregator
>>> agg = RecordAggregator()
>>> _ = agg.add_user_record("artist-1", b'{"a":1}'); _ = agg.add_user_record("artist-2", b'{"a":2}')
>>> pk, ehk, blob = agg.clear_and_get().get_contents()
>>> event = {"Records": [{"eventID": "shardId-000000000000:495", "kinesis": {
...     "data": base64.b64encode(blob).decode(), "partitionKey": pk, "sequenceNumber": "495"}}]}
>>> [(u.partition_key, u.data, u.sub_sequence_number) for u in iter_user_records(event)]
[('artist-1', b'{"a":1}', 0), ('artist-2', b'{"a":2}', 1)]

Non-aggregated records pass through as one user record with ``sub_sequence_number`` ``None``. A record
that carries the aggregation header but fails its digest or protobuf parse is *corrupt*: it is returned
whole with ``error`` set, so the consumer can dead-letter it with that reason instead of "bad JSON".
"""
from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aws_kinesis_agg
from aws_kinesis_agg import deaggregator as _agg_lib  # puts the package dir on sys.path for its *_pb2 modules
from google.protobuf.message import DecodeError

try:  # SIMD base64 (5-10x binascii on 6 MB events); a runtime dependency, the fallback keeps old layers working
    from pybase64 import b64decode as _b64decode_strict
except ImportError:  # pragma: no cover - exercised only where pybase64 is missing
    _b64decode_strict = None  # type: ignore[assignment]

messages_pb2 = _agg_lib.messages_pb2

MAGIC = aws_kinesis_agg.MAGIC
_MAGIC_LEN = len(MAGIC)
_DIGEST = aws_kinesis_agg.DIGEST_SIZE


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One user record and where it came from (enough to dead-letter or redrive it)."""

    data: bytes
    partition_key: str
    shard_id: str
    sequence_number: str
    sub_sequence_number: int | None  # position inside its aggregate; None when not aggregated
    parent_event: Mapping[str, Any]  # the Lambda event record (the Kinesis record) it came in
    error: str | None = None  # set when the parent looked aggregated but was corrupt


class Unpacked:
    """The user records of one Kinesis record: payloads (and, on demand, partition keys) in order."""

    __slots__ = ("_agg", "_keys", "aggregated", "error", "payloads")

    def __init__(self, payloads: list[bytes], partition_keys: list[str] | None, aggregated: bool,
                 error: str | None = None, agg: Any = None):
        self.payloads, self.aggregated, self.error = payloads, aggregated, error
        self._keys, self._agg = partition_keys, agg

    @property
    def partition_keys(self) -> list[str]:
        """Each user record's partition key (resolved lazily: only dead-lettering and redrive need them)."""
        if self._keys is None:
            table = list(self._agg.partition_key_table)
            self._keys = [table[r.partition_key_index] if r.partition_key_index < len(table) else ""
                          for r in self._agg.records]
        return self._keys

    def __repr__(self) -> str:
        return f"Unpacked({len(self.payloads)} payload(s), aggregated={self.aggregated}, error={self.error!r})"


def shard_id(event_record: Mapping[str, Any]) -> str:
    """``shardId-000000000000`` from a Lambda record's ``eventID`` (``shardId-…:<sequence number>``)."""
    event_id = event_record.get("eventID") or ""
    return event_id.split(":", 1)[0] if ":" in event_id else event_id


def b64decode(data: str | bytes) -> bytes:
    """Base64 as Lambda delivers it (strict alphabet, padded); anything else decoded as leniently as binascii.

    >>> b64decode("eyJhIjoxfQ==")
    b'{"a":1}'
    """
    if _b64decode_strict is not None:
        try:
            return _b64decode_strict(data, validate=True)
        except (binascii.Error, ValueError):
            pass
    return binascii.a2b_base64(data)


def unpack(blob: bytes, partition_key: str = "") -> Unpacked:
    """Split one Kinesis record's data into user records (aws-kinesis-agg wire format)."""
    if len(blob) <= _MAGIC_LEN + _DIGEST or blob[:_MAGIC_LEN] != MAGIC:
        return Unpacked([blob], [partition_key], False)
    body, digest = memoryview(blob)[_MAGIC_LEN:-_DIGEST], blob[-_DIGEST:]  # no copy of the body
    if hashlib.md5(body).digest() != digest:
        return Unpacked([blob], [partition_key], False, "corrupt KPL aggregate: MD5 digest mismatch")
    agg = messages_pb2.AggregatedRecord()
    try:
        agg.ParseFromString(body)
    except DecodeError as e:
        return Unpacked([blob], [partition_key], False, f"corrupt KPL aggregate: {e}")
    return Unpacked([r.data for r in agg.records], None, True, agg=agg)


def unpack_event_record(event_record: Mapping[str, Any]) -> Unpacked:
    """Unpack a Lambda Kinesis event record (``kinesis.data`` is base64)."""
    k = event_record["kinesis"]
    return unpack(b64decode(k["data"]), k.get("partitionKey", ""))


def iter_user_records(lambda_event: Mapping[str, Any]) -> Iterator[UserRecord]:
    """Every user record of a Lambda Kinesis event, in stream order."""
    for rec in lambda_event.get("Records", ()):
        k = rec["kinesis"]
        shard, seq = shard_id(rec), k["sequenceNumber"]
        u = unpack_event_record(rec)
        for i, (data, pk) in enumerate(zip(u.payloads, u.partition_keys, strict=False)):
            yield UserRecord(data, pk, shard, seq, i if u.aggregated else None, rec, u.error)
