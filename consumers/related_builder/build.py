"""related_builder wiring: lake (Athena / DuckDB) → the learned blend (:mod:`sori.related.serve`) → one RDS
generation. The summary names the weights it learned, its held-out listener-judgment score and the sources
the lake lacks (``missing_sources``: in development mode, public playlists).

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
from sori.related.serve import build_served
from sori.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: The lake tables the queries read.
TABLES = ("top_tracks", "audio_features", "collection_members", "artists")


class GenerationStore(Protocol):
    """Where a generation of related artists is published (``sori.stores.mysql.RelatedStore``)."""

    def write_generation(self, rows: Iterable[Mapping[str, Any]], built_at: dt.datetime) -> int: ...


def load_frames(engine: QueryEngine, settings: Settings,
                until: dt.date | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """(track features, collection members, the window used) from the lake."""
    w = window(settings.related_window_days, until)
    return run_query(engine, "related_track_features", **w), run_query(engine, "related_collections", **w), w


def load_genres(engine: QueryEngine, settings: Settings, until: dt.date | None = None) -> Any:
    """(artist_id, genre) rows from the newest artist records in the window; None when the lake has none."""
    try:
        return run_query(engine, "related_artist_genres", **window(settings.related_window_days, until))
    except Exception as e:
        log.warning("artist genres unavailable: %s", e)
        return None


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
    genres = load_genres(engine, settings, until)
    rows, served = build_served(tracks, members, genres, k=settings.related_k, score=settings.related_score)
    t_rank = time.perf_counter()
    if store is None:
        from sori.stores.mysql import RelatedStore, connect

        store = RelatedStore(connect(settings))
    built_at = now or dt.datetime.now(dt.UTC)
    generation = store.write_generation(rows, built_at)
    summary = {
        "generation": generation, "built_at": built_at.isoformat(), "window": w, **served,
        "pairs": len(rows), "k": settings.related_k,
        "seconds": {"query": round(t_query - t0, 3), "rank": round(t_rank - t_query, 3),
                    "write": round(time.perf_counter() - t_rank, 3)},
    }
    log.info("related generation %s: %s artists, %s pairs, missing %s", generation, summary["artists"], len(rows),
             list(summary["missing_sources"]))
    return summary
