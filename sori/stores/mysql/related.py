"""Related-artist generations: a whole new set written aside, then published by one pointer flip."""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sori.stores.mysql.connection import (
    _CHUNK,
    _chunks,
    _from_db_time,
    _json_load,
    _utcnow,
    log,
    to_db_time,
    transaction,
)

if TYPE_CHECKING:  # pragma: no cover
    import pymysql


# --- related artists --------------------------------------------------------------------------------------

class StaleGenerationError(RuntimeError):
    """A build finished after a newer one was published; it is not flipped in (that would go backwards)."""


def _related_in(row: Mapping[str, Any]) -> tuple[Any, ...]:
    artist_id, related_id, rank = row.get("artist_id"), row.get("related_id"), row.get("rank")
    if not artist_id or not related_id or not isinstance(artist_id, str) or not isinstance(related_id, str):
        raise ValueError(f"related row needs artist_id and related_id strings: {row!r}")
    if artist_id == related_id:
        raise ValueError(f"artist {artist_id} related to itself")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"related row {artist_id}->{related_id}: rank must be an int >= 1, got {rank!r}")
    score = float(row.get("score"))  # type: ignore[arg-type]
    if not math.isfinite(score):
        raise ValueError(f"related row {artist_id}->{related_id}: score must be finite, got {score!r}")
    reason = row.get("reason")
    if reason is not None and not isinstance(reason, Mapping):
        raise ValueError(f"related row {artist_id}->{related_id}: reason must be a dict")
    return (artist_id, related_id, rank, score, None if reason is None else json.dumps(reason, ensure_ascii=False))


def _check_unique(values: Sequence[tuple[Any, ...]]) -> None:
    ranks = {(v[0], v[2]) for v in values}
    pairs = {(v[0], v[1]) for v in values}
    if len(ranks) != len(values):
        raise ValueError("related rows repeat an (artist_id, rank)")
    if len(pairs) != len(values):
        raise ValueError("related rows repeat an (artist_id, related_id) pair")


class RelatedStore:
    """Related artists, published a whole generation at a time.

    ``write_generation`` inserts the new rows under a fresh generation number that no reader looks at, then
    flips the single-row ``related_generation`` pointer in one short transaction. ``current`` joins through
    the pointer in one statement, so a reader sees the old set or the new set, never a mix; a build that dies
    anywhere before the flip (exception, lost connection, killed Lambda) leaves the previous set served in full.
    After the flip, generations older than the previous one are deleted (the previous one is kept, so a reader
    that read the pointer just before the flip still finds its rows).
    """

    def __init__(self, conn: pymysql.Connection, *, chunk_size: int = _CHUNK):
        self.conn = conn
        self.chunk_size = chunk_size

    def write_generation(self, rows: Iterable[Mapping[str, Any]], built_at: dt.datetime) -> int:
        """Publish ``rows`` (``artist_id, related_id, rank, score, reason``) as the new current set; returns its
        generation number. Every row is validated before anything is written (``ValueError``); an empty set is
        refused too, since publishing it would blank every answer. Raises :class:`StaleGenerationError` when a
        newer generation was published while this one was being written."""
        built = to_db_time(built_at)
        if built is None:
            raise ValueError("built_at is required")
        values = [_related_in(r) for r in rows]
        if not values:
            raise ValueError("refusing to publish an empty related-artists generation")
        _check_unique(values)
        with transaction(self.conn) as cur:
            cur.execute("INSERT INTO related_builds (status, started_at) VALUES ('building', %s)", (_utcnow(),))
            generation: int = cur.lastrowid
        sql = ("INSERT INTO related_artists (generation, artist_id, related_id, `rank`, score, reason, built_at)"
               " VALUES (%s, %s, %s, %s, %s, %s, %s)")
        for chunk in _chunks(values, self.chunk_size):
            with transaction(self.conn) as cur:
                cur.executemany(sql, [(generation, *v, built) for v in chunk])
        previous = self._flip(generation, built, len(values))
        self._prune(generation, previous)
        log.info("related generation %d is current (%d rows; previous %s)", generation, len(values), previous)
        return generation

    def _flip(self, generation: int, built: dt.datetime, row_count: int) -> int | None:
        now = _utcnow()
        with transaction(self.conn) as cur:
            cur.execute("SELECT generation FROM related_generation WHERE id = 1 FOR UPDATE")
            row = cur.fetchone()
            previous = row["generation"] if row else None
            if previous is not None and previous > generation:
                raise StaleGenerationError(f"generation {previous} is already current; not flipping back to"
                                           f" {generation}")
            cur.execute("SELECT COUNT(*) AS n FROM related_artists WHERE generation = %s", (generation,))
            stored = cur.fetchone()["n"]
            if stored != row_count:  # e.g. pruned by a concurrent newer build
                raise RuntimeError(f"generation {generation} has {stored} rows stored, {row_count} written")
            if row is None:
                cur.execute("INSERT INTO related_generation (id, generation, built_at, flipped_at)"
                            " VALUES (1, %s, %s, %s)", (generation, built, now))
            else:
                cur.execute("UPDATE related_generation SET generation = %s, built_at = %s, flipped_at = %s"
                            " WHERE id = 1", (generation, built, now))
            cur.execute("UPDATE related_builds SET status = 'current', built_at = %s, finished_at = %s,"
                        " row_count = %s WHERE generation = %s", (built, now, row_count, generation))
            if previous is not None:
                cur.execute("UPDATE related_builds SET status = 'previous' WHERE generation = %s", (previous,))
        return previous

    def _prune(self, generation: int, previous: int | None) -> None:
        """Delete generations older than the new one except ``previous`` (also sweeps rows of crashed builds).
        Newer generations (a concurrent build still writing) are left alone."""
        keep = previous if previous is not None else generation
        while True:
            with transaction(self.conn) as cur:
                n = cur.execute("DELETE FROM related_artists WHERE generation < %s AND generation <> %s"
                                " LIMIT 10000", (generation, keep))
            if n < 10000:
                break
        with transaction(self.conn) as cur:
            cur.execute("UPDATE related_builds SET status = 'retired' WHERE generation < %s AND generation <> %s"
                        " AND status <> 'retired'", (generation, keep))

    def current_generation(self) -> int | None:
        """The generation readers see (``None`` before the first build)."""
        with transaction(self.conn) as cur:
            cur.execute("SELECT generation FROM related_generation WHERE id = 1")
            row = cur.fetchone()
        return row["generation"] if row else None

    def current(self, artist_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The current generation's related artists of one artist, by rank: ``related_id, rank, score,
        reason (dict), built_at, generation`` plus the related artist's ``name``, ``image_url`` and ``genres``
        from ``artists`` (``None`` when unknown) — everything a reply needs, in one query."""
        with transaction(self.conn) as cur:
            cur.execute(
                "SELECT r.related_id, r.`rank`, r.score, r.reason, r.built_at, r.generation,"
                " a.name, a.image_url, a.genres"
                " FROM related_generation g"
                " JOIN related_artists r ON r.generation = g.generation AND r.artist_id = %s"
                " LEFT JOIN artists a ON a.id = r.related_id"
                " WHERE g.id = 1 ORDER BY r.`rank` LIMIT %s", (artist_id, int(limit)))
            rows = cur.fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["reason"] = _json_load(d["reason"])
            d["genres"] = _json_load(d["genres"])
            d["built_at"] = _from_db_time(d["built_at"])
            out.append(d)
        return out

    def generation_counts(self) -> dict[int, int]:
        """Rows stored per generation (diagnostics and tests)."""
        with transaction(self.conn) as cur:
            cur.execute("SELECT generation, COUNT(*) AS n FROM related_artists GROUP BY generation")
            return {r["generation"]: r["n"] for r in cur.fetchall()}
