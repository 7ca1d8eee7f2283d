"""DynamoDB ``TopTracksTable``: the dynamo_sink's writer and the chatbot's reader.

Items (PK ``artist_id``, SK ``track_id``)::

    {artist_id, track_id, name, album, album_image, url, rank, popularity?, artist_name, via,
     refreshed_at (ISO), record_emitted_at (ISO), expires_at (epoch s, the table's TTL attribute)}

**Newer wins.** A write lands only if the item is absent or its ``record_emitted_at`` is older than the
incoming record's; an equal one is an idempotent no-op, so a late retry or a redrive never overwrites
fresher data. BatchWriteItem cannot carry conditions, so there are two writers (``mode``):

* ``"transact"`` (default): TransactWriteItems, up to 100 conditional puts per request. A cancelled
  transaction reports per item why: items whose condition failed (stale or already written) are dropped
  and the rest resent; conflicts/throttling are retried with backoff. 10 requests per 1,000 fresh items;
  each put costs 2 write units instead of 1.
* ``"batch"``: BatchGetItem (100 keys, ``record_emitted_at`` only) to drop stale items, then BatchWriteItem
  (25 per request) retrying ``UnprocessedItems`` with backoff. 50 requests per 1,000 items and 1 write unit
  each, but the check and the write are not atomic: correct as long as one key has one writer at a time,
  which Kinesis gives (one artist → one partition key → one shard → one invocation at a time).

``bench/dynamo_sink.py`` measures both. **TTL**: ``expires_at = emitted_at + ttl_days``; a track that drops
out of an artist's top list is simply not refreshed and expires. DynamoDB deletes expired items lazily, so the
reader also filters them out, and serves only the latest snapshot day of the artist.

>>> item = top_track_item({"artist_id": "a", "track_id": "t", "name": "Song", "rank": 1},
...                       emitted_at="2026-11-22T18:00:00Z", ttl_days=1)
>>> item["expires_at"], item["refreshed_at"]
(1795456800, '2026-11-22T18:00:00Z')
"""
from __future__ import annotations

import datetime as _dt
import logging
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sori._types import BotoClient

log = logging.getLogger(__name__)

TTL_DAYS = 14
_RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded",
              "InternalServerError"}
_ITEM_FIELDS = ("name", "album", "album_image", "url", "rank", "popularity", "artist_name", "via")


def _utc(iso: str) -> _dt.datetime:
    t = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=_dt.UTC)).astimezone(_dt.UTC)


def version_of(emitted_at: str) -> str:
    """``emitted_at`` as fixed-width UTC ISO (microseconds, ``Z``): compares correctly as a string.

    >>> version_of("2026-11-23T03:00:00+09:00") < version_of("2026-11-22T18:00:00.5Z")
    True
    """
    return _utc(emitted_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def top_track_item(data: Mapping[str, Any], *, emitted_at: str, ttl_days: int = TTL_DAYS) -> dict[str, Any]:
    """The table item for one ``top_track`` record's data."""
    item = {"artist_id": data["artist_id"], "track_id": data["track_id"]}
    item.update({k: data[k] for k in _ITEM_FIELDS if data.get(k) is not None})
    item.update(refreshed_at=emitted_at, record_emitted_at=version_of(emitted_at),
                expires_at=int(_utc(emitted_at).timestamp()) + ttl_days * 86400)
    return item


# --------------------------------------------------------------------------- low-level (de)serialisation

def _ser(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"BOOL": v}
    if isinstance(v, (int, float)):
        return {"N": repr(v) if isinstance(v, float) else str(v)}
    if isinstance(v, str):
        return {"S": v}
    if isinstance(v, list):
        return {"L": [_ser(x) for x in v]}
    if isinstance(v, dict):
        return {"M": {k: _ser(x) for k, x in v.items()}}
    if v is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(v).__name__}")


def _deser(v: Mapping[str, Any]) -> Any:
    (t, x), = v.items()
    if t == "N":
        return int(x) if x.lstrip("-").isdigit() else float(x)
    if t == "L":
        return [_deser(e) for e in x]
    if t == "M":
        return {k: _deser(e) for k, e in x.items()}
    if t == "NULL":
        return None
    return x


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser(v) for k, v in item.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deser(v) for k, v in item.items()}


# --------------------------------------------------------------------------- the store

@dataclass
class WriteReport:
    written: int = 0
    skipped: int = 0  # not newer than what is stored (stale or a repeat)
    requests: int = 0
    retries: int = 0

    def __iadd__(self, o: WriteReport) -> WriteReport:
        self.written += o.written
        self.skipped += o.skipped
        self.requests += o.requests
        self.retries += o.retries
        return self


class TopTracksStore:
    """Writer (dynamo_sink) and reader (chatbot) of the top-tracks table.

    >>> TopTracksStore("sori-top-tracks").table_name
    'sori-top-tracks'
    """

    def __init__(self, table_name: str, client: BotoClient = None, *, mode: str = "transact", max_attempts: int = 8,
                 base_delay_s: float = 0.05) -> None:
        if mode not in ("transact", "batch"):
            raise ValueError(f"mode must be 'transact' or 'batch', not {mode!r}")
        self.table_name, self.mode = table_name, mode
        self._client = client
        self.max_attempts, self.base_delay_s = max_attempts, base_delay_s

    @property
    def client(self) -> BotoClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _sleep(self, attempt: int) -> None:
        time.sleep(random.uniform(0, self.base_delay_s * 2 ** attempt))

    # ---------------------------------------------------------------- writing
    def put_items(self, items: Iterable[Mapping[str, Any]]) -> WriteReport:
        """Write items, newest ``record_emitted_at`` per key winning (see module docstring)."""
        latest: dict[tuple[str, str], Mapping[str, Any]] = {}
        dropped = 0
        for it in items:
            key = (it["artist_id"], it["track_id"])
            old = latest.get(key)
            if old is None or it["record_emitted_at"] > old["record_emitted_at"]:
                dropped += old is not None
                latest[key] = it
            else:
                dropped += 1
        report = WriteReport(skipped=dropped)
        todo = list(latest.values())
        if self.mode == "transact":
            for start in range(0, len(todo), 100):
                report += self._transact(todo[start:start + 100])
        else:
            report += self._batch(todo)
        return report

    def _transact(self, items: list[Mapping[str, Any]]) -> WriteReport:
        from botocore.exceptions import ClientError

        report = WriteReport()
        attempt = 0
        while items:
            report.requests += 1
            try:
                self.client.transact_write_items(TransactItems=[{"Put": {
                    "TableName": self.table_name, "Item": serialize(it),
                    "ConditionExpression": "attribute_not_exists(track_id) OR record_emitted_at < :e",
                    "ExpressionAttributeValues": {":e": {"S": it["record_emitted_at"]}}}} for it in items])
                report.written += len(items)
                return report
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code == "TransactionCanceledException":
                    reasons = [r.get("Code", "None") for r in e.response.get("CancellationReasons", [])]
                    if len(reasons) != len(items):
                        raise
                    stale = sum(r == "ConditionalCheckFailed" for r in reasons)
                    other = {r for r in reasons if r not in ("None", "ConditionalCheckFailed")}
                    if other - _RETRYABLE:
                        raise
                    report.skipped += stale
                    items = [it for it, r in zip(items, reasons, strict=False) if r != "ConditionalCheckFailed"]
                    if not other:
                        continue  # only stale items were in the way: resend the rest at once
                elif code not in _RETRYABLE:
                    raise
            attempt += 1
            report.retries += 1
            if attempt >= self.max_attempts:
                raise RuntimeError(f"{len(items)} item(s) not written after {attempt} attempts")
            self._sleep(attempt)
        return report

    def stored_versions(self, keys: list[tuple[str, str]],
                        report: WriteReport | None = None) -> dict[tuple[str, str], str]:
        """``record_emitted_at`` of the stored items among ``keys`` (BatchGetItem, 100 keys a request)."""
        report = report if report is not None else WriteReport()
        out: dict[tuple[str, str], str] = {}
        for start in range(0, len(keys), 100):
            pending = {self.table_name: {
                "Keys": [{"artist_id": {"S": a}, "track_id": {"S": t}} for a, t in keys[start:start + 100]],
                "ProjectionExpression": "artist_id, track_id, record_emitted_at", "ConsistentRead": True}}
            attempt = 0
            while pending:
                report.requests += 1
                resp = self.client.batch_get_item(RequestItems=pending)
                for it in resp.get("Responses", {}).get(self.table_name, []):
                    d = deserialize(it)
                    out[(d["artist_id"], d["track_id"])] = d.get("record_emitted_at", "")
                pending = resp.get("UnprocessedKeys") or {}
                if pending:
                    attempt += 1
                    report.retries += 1
                    if attempt >= self.max_attempts:
                        raise RuntimeError("BatchGetItem: keys left unprocessed")
                    self._sleep(attempt)
        return out

    def _batch(self, items: list[Mapping[str, Any]]) -> WriteReport:
        report = WriteReport()
        stored = self.stored_versions([(it["artist_id"], it["track_id"]) for it in items], report)
        fresh = [it for it in items if stored.get((it["artist_id"], it["track_id"]), "") < it["record_emitted_at"]]
        report.skipped += len(items) - len(fresh)
        for start in range(0, len(fresh), 25):
            chunk = fresh[start:start + 25]
            pending = {self.table_name: [{"PutRequest": {"Item": serialize(it)}} for it in chunk]}
            attempt = 0
            while pending:
                report.requests += 1
                resp = self.client.batch_write_item(RequestItems=pending)
                pending = resp.get("UnprocessedItems") or {}
                if pending:
                    attempt += 1
                    report.retries += 1
                    if attempt >= self.max_attempts:
                        left = len(pending.get(self.table_name, []))
                        raise RuntimeError(f"BatchWriteItem: {left} item(s) unprocessed")
                    self._sleep(attempt)
            report.written += len(chunk)
        return report

    # ---------------------------------------------------------------- reading
    def top_tracks(self, artist_id: str, limit: int = 5, *, now: float | None = None) -> list[dict[str, Any]]:
        """The artist's current top tracks by rank: latest snapshot day only, expired items ignored."""
        now = time.time() if now is None else now
        items: list[dict[str, Any]] = []
        kw: dict[str, Any] = {}
        while True:
            resp = self.client.query(TableName=self.table_name, KeyConditionExpression="artist_id = :a",
                                     ExpressionAttributeValues={":a": {"S": artist_id}}, **kw)
            items.extend(deserialize(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kw = {"ExclusiveStartKey": resp["LastEvaluatedKey"]}
        live = [i for i in items if i.get("expires_at", now + 1) > now]
        if not live:
            return []
        day = max(i.get("refreshed_at", "")[:10] for i in live)
        current = [i for i in live if i.get("refreshed_at", "")[:10] == day]
        current.sort(key=lambda i: (i.get("rank", 10**6), i["track_id"]))
        return current[:limit]
