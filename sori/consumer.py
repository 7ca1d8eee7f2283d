"""The shared consumer path: Lambda Kinesis event → user records → sink, with poison dead-lettered.

Every consumer (dynamo_sink, s3_sink) runs the same steps::

    items  = unpack_items(event)          # one BatchItem per Kinesis record (an aggregate), deaggregated
    batch  = decoder(items)               # validate against the record contract; poison split off
    dlq.send(poison messages)             # never lost, never failing the batch
    failed = sink(batch)                  # {item index: exception} for *transient* failures
    return partial_response(event, failed)  # Powertools BatchProcessor → {"batchItemFailures": [...]}

The **batch item is the Kinesis record**, not the user record: that is what Lambda checkpoints (a failure
inside an aggregate retries the whole aggregate, docs/ARCHITECTURE.md §6.2), and it keeps Powertools' per-item cost off
the per-user-record hot path. A user record that can never succeed (bad JSON, unknown type or version,
schema violation, corrupt aggregate) goes to the DLQ with its payload, shard, sequence numbers and reason.
A transient failure (sink write, DLQ send) marks its item failed; Lambda resumes from the lowest failed
sequence number, so that item and everything after it are retried and everything before is checkpointed.
Consumers therefore report *every* item from the lowest failed one on, and sink nothing from those items
(a DLQ failure at item k truncates the batch before the sink runs): what the retry writes, it writes once.

Decoders are pluggable: :func:`decode_rows` (per-record ``validate``, for sinks that need Python objects)
here, and the columnar one in ``consumers.s3_sink.logic`` for the parquet hot path. This module imports no
pyarrow (the DynamoDB sink ships without the pandas layer).

>>> from sori.kinesis.deagg import Unpacked
>>> item = BatchItem(0, {}, "shardId-0", "1", Unpacked([b'{"type": "nope"}'], ["pk"], False))
>>> batch = decode_rows([item])
>>> batch.records, batch.poison[0].reason
([], "unknown type 'nope'")
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sori.dlq import poison_message
from sori.kinesis.deagg import Unpacked, shard_id, unpack_event_record
from sori.records import Record, RecordError, validate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

log = logging.getLogger(__name__)


class TransientError(RuntimeError):
    """A failure worth retrying (the item is reported in ``batchItemFailures``)."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One Kinesis record of the event (the unit Lambda checkpoints), already deaggregated."""

    index: int
    event_record: Mapping[str, Any]
    shard_id: str
    sequence_number: str
    unpacked: Unpacked

    @property
    def payloads(self) -> list[bytes]:
        return self.unpacked.payloads

    def sub(self, i: int) -> int | None:
        return i if self.unpacked.aggregated else None


@dataclass(frozen=True, slots=True)
class Poison:
    """A user record that can never be processed, and why."""

    item: int  # BatchItem.index
    position: int  # index of the user record inside its item
    payload: bytes
    reason: str


@dataclass
class RowBatch:
    """Output of :func:`decode_rows`: validated records (with their item index) and poison."""

    items: list[BatchItem]
    records: list[tuple[int, Record]] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)


    def before(self, item: int) -> RowBatch:
        """The batch without the records of items ``item`` and later (they will be retried)."""
        return RowBatch(self.items, [(i, r) for i, r in self.records if i < item], self.poison)


class DeadLetterSink(Protocol):
    """Where poison goes (``sori.dlq.DeadLetterQueue``): ``send`` returns the indices it could not send."""

    def send(self, messages: list[dict[str, Any]]) -> list[int]: ...


class DecodedBatch(Protocol):
    items: list[BatchItem]
    poison: list[Poison]

    def before(self, item: int) -> DecodedBatch: ...


def unpack_items(event: Mapping[str, Any]) -> list[BatchItem]:
    """The event's Kinesis records as :class:`BatchItem` (deaggregated, in stream order)."""
    return [BatchItem(i, r, shard_id(r), r["kinesis"]["sequenceNumber"], unpack_event_record(r))
            for i, r in enumerate(event.get("Records", ()))]


def decode_rows(items: Sequence[BatchItem]) -> RowBatch:
    """Validate every user record with :func:`sori.records.validate`; poison is collected, not raised."""
    out = RowBatch(list(items))
    for item in items:
        for pos, payload in enumerate(item.payloads):
            if item.unpacked.error:
                out.poison.append(Poison(item.index, pos, payload, item.unpacked.error))
                continue
            try:
                out.records.append((item.index, validate(payload)))
            except RecordError as e:
                out.poison.append(Poison(item.index, pos, payload, e.reason))
    return out


def dead_letter(batch: DecodedBatch, dlq: DeadLetterSink, function: str) -> dict[int, BaseException]:
    """Send the batch's poison to the DLQ; items whose poison could not be sent are failed (retried)."""
    if not batch.poison:
        return {}
    msgs = []
    for p in batch.poison:
        item = batch.items[p.item]
        pks = item.unpacked.partition_keys
        msgs.append(poison_message(p.payload, reason=p.reason, shard_id=item.shard_id,
                                   sequence_number=item.sequence_number, sub_sequence_number=item.sub(p.position),
                                   partition_key=pks[p.position] if p.position < len(pks) else "",
                                   function=function))
    log.warning("dead-lettering %d poison record(s)", len(msgs),
                extra={"reasons": sorted({p.reason for p in batch.poison})[:10]})
    failed: dict[int, BaseException] = {}
    for i in dlq.send(msgs):
        failed.setdefault(batch.poison[i].item, TransientError("dead-letter send failed"))
    return failed


def partial_response(event: Mapping[str, Any], failed: Mapping[int, BaseException],
                     context: LambdaContext | None = None) -> dict[str, Any]:
    """``{"batchItemFailures": [...]}`` for the failed items, shaped by Powertools' ``BatchProcessor``.

    Never raises for an all-failed batch: the mapping retries from the lowest reported sequence number,
    which is what a transient failure needs (a raised error would also trigger bisection).
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    if not failed:
        return {"batchItemFailures": []}
    by_seq = {event["Records"][i]["kinesis"]["sequenceNumber"]: e for i, e in failed.items()}

    def check(record: KinesisStreamRecord) -> None:
        err = by_seq.get(record.kinesis.sequence_number)
        if err is not None:
            raise err

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=dict(event), record_handler=check, processor=processor,
                                         context=context))


Sink = Callable[[Any], Mapping[int, BaseException]]


def function_name(context: LambdaContext | None = None) -> str:
    return getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")


def consume(event: Mapping[str, Any], sink: Sink, *, dlq: DeadLetterSink,
            decoder: Callable[[list[BatchItem]], Any] = decode_rows, context: LambdaContext | None = None,
            metrics_service: str | None = None) -> dict[str, Any]:
    """Run the whole consumer path over one Lambda Kinesis event; return the partial batch response.

    With ``metrics_service`` the batch's figures (``UserRecords``, ``PoisonRecords``, ``FailedItems``) are
    published as CloudWatch metrics (:mod:`sori.metrics`).
    """
    items = unpack_items(event)
    batch = decoder(items)
    poison = len(batch.poison)
    resp = _consume(event, items, batch, sink, dlq, context)
    if metrics_service:
        from sori.metrics import publish

        publish({"UserRecords": sum(len(it.payloads) for it in items), "PoisonRecords": poison,
                 "FailedItems": len(resp["batchItemFailures"])}, service=metrics_service)
    return resp


def _consume(event: Mapping[str, Any], items: list[BatchItem], batch: DecodedBatch, sink: Sink, dlq: DeadLetterSink,
             context: LambdaContext | None) -> dict[str, Any]:
    failed = dict(dead_letter(batch, dlq, function_name(context)))
    if failed:  # the mapping resumes at the lowest failed item: sink only what comes before it
        k = min(failed)
        err = failed[k]
        failed = {i: failed.get(i, err) for i in range(k, len(items))}
        batch = batch.before(k)
    for i, err in sink(batch).items():
        failed.setdefault(i, err)
    return partial_response(event, failed, context)
