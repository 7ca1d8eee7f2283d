"""dynamo_sink logic: validated records → TopTracksTable items (pure; the store is passed in).

Only ``top_track`` records have a DynamoDB home (the chatbot's fast path); other types are the lake's and
are skipped here — poison of any type is still dead-lettered by the shared consumer path.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sori.consumer import RowBatch, TransientError
from sori.stores.dynamo import TTL_DAYS, TopTracksStore, WriteReport, top_track_item

log = logging.getLogger(__name__)


def items_of(batch: RowBatch, ttl_days: int = TTL_DAYS) -> list[tuple[int, dict[str, Any]]]:
    """``(item index, table item)`` for every top_track record of the batch, in stream order."""
    return [(i, top_track_item(r.data, emitted_at=r.emitted_at, ttl_days=ttl_days))
            for i, r in batch.records if r.type == "top_track"]


class TopTracksSink:
    """The dynamo sink's ``sink(batch) -> {item: error}``; ``last_report`` keeps the latest write counts."""

    def __init__(self, store: TopTracksStore, ttl_days: int = TTL_DAYS):
        self.store, self.ttl_days = store, ttl_days
        self.last_report = WriteReport()

    def __call__(self, batch: RowBatch) -> Mapping[int, BaseException]:
        pairs = items_of(batch, self.ttl_days)
        if not pairs:
            return {}
        try:
            self.last_report = self.store.put_items(it for _, it in pairs)
        except Exception as e:
            log.exception("DynamoDB write failed")
            first = min(i for i, _ in pairs)
            return {i: TransientError(f"dynamodb: {e}") for i in range(first, len(batch.items))}
        return {}
