"""related_builder wiring: lake (Athena / DuckDB) → profiles + co-occurrence → ranking → one RDS generation.

The logic is in :mod:`sori.related`; this module only moves data between the adapters:

    summary = build(settings)            # query the lake, rank, publish; returns what it did

A failure anywhere (query, ranking, a lost MySQL connection mid-insert) raises before the pointer flips, so
the previous generation stays served in full (``RelatedStore.write_generation``).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sori.query import QueryEngine, engine_for, run_query, window
from sori.related.hybrid import compute_related, related_rows
from sori.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: The lake tables the two queries read.
TABLES = ("top_tracks", "audio_features", "collection_members")


class GenerationStore(Protocol):
    """Where a generation of related artists is published (``sori.stores.mysql.RelatedStore``)."""

    def write_generation(self, rows: Iterable[Mapping[str, Any]], built_at: dt.datetime) -> int: ...


def load_frames(engine: QueryEngine, settings: Settings,
                until: dt.date | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """(track features, collection members, the window used) from the lake."""
    w = window(settings.related_window_days, until)
    return run_query(engine, "related_track_features", **w), run_query(engine, "related_collections", **w), w


def build(settings: Settings | None = None, *, engine: QueryEngine | None = None, store: GenerationStore | None = None,
          until: dt.date | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Compute related artists from the lake and publish them as the new current generation."""
    settings = settings or get_settings()
    t0 = time.perf_counter()
    w = window(settings.related_window_days, until)
    engine = engine or engine_for(settings, dt_from=w["since"], dt_to=w["until"], tables=TABLES)
    tracks, members, w = load_frames(engine, settings, until)
    t_query = time.perf_counter()
    if tracks.empty and members.empty:
        raise RuntimeError(f"the lake has no audio features or collections in {w['since']}..{w['until']}")
    ranking, profiles, cooc = compute_related(tracks, members, k=settings.related_k,
                                              weight=settings.related_weight_cooc)
    rows = list(related_rows(ranking, profiles, cooc))
    t_rank = time.perf_counter()
    if store is None:
        from sori.stores.mysql import RelatedStore, connect

        store = RelatedStore(connect(settings))
    built_at = now or dt.datetime.now(dt.UTC)
    generation = store.write_generation(rows, built_at)
    summary = {
        "generation": generation, "built_at": built_at.isoformat(), "window": w,
        "artists": len(ranking.artist_ids), "profiled": len(profiles),
        "with_cooccurrence": int(cooc.has_any.sum()), "collections": len(cooc.collection_ids),
        "pairs": len(rows), "k": settings.related_k, "modes": {"hybrid": int(cooc.has_any.sum()),
                                                              "audio_only": int(len(ranking.artist_ids)
                                                                                - cooc.has_any.sum())},
        "weights": {"cooc": settings.related_weight_cooc, "audio": round(1 - settings.related_weight_cooc, 6)},
        "seconds": {"query": round(t_query - t0, 3), "rank": round(t_rank - t_query, 3),
                    "write": round(time.perf_counter() - t_rank, 3)},
    }
    log.info("related generation %s: %s artists, %s pairs", generation, summary["artists"], len(rows))
    return summary
