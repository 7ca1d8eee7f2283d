"""Nightly catalog refresh: artists → ``artist``, ``top_track``, ``audio_features`` (+ ``collection_member``).

>>> result = refresh_catalog(artists, sources, emit, emitted_at="2026-11-22T18:00:00Z")   # doctest: +SKIP
>>> result.stopped, result.records                                                      # doctest: +SKIP
(None, Counter({'top_track': 2651, 'audio_features': 2651, 'artist': 1000}))

Call economy (extended mode, per artist): 1 top-tracks call + 1/50 of an artists batch + ~1/40 of a features batch
(≈2.6 new tracks per artist, 100 per call; feature ids are pooled across chunks so batches stay full).
Development mode: 1 search call per artist (``type=artist,track`` returns the artist object too) and ReccoBeats.

Progress is made in chunks of 50 artists. Records are buffered (``flush_records``) so Kinesis aggregates stay full;
``on_chunk`` hears of artists (the handler marks them refreshed in RDS) only after their records were emitted.
``QUOTA_EXCEEDED`` (or an unbearable
Retry-After) stops the run: the unfinished chunk, the artists after it and the not-yet-fetched features are
returned in :class:`CatalogResult` for the checkpoint, and the next run starts with them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from producers.logic.records import (
    artist_record,
    collab_records,
    collection_records,
    features_record,
    top_track_records,
)
from sori.spotify.client import QuotaExceeded, RateLimited, SpotifyClient
from sori.spotify.sources import FEATURES_PER_CALL, Sources

CHUNK = 50
#: Discovery (extended mode): ``search type=playlist`` for this many of the catalog's most common genres and
#: most popular artists.
DISCOVERY_GENRES = 40
DISCOVERY_ARTISTS = 60

Emit = Callable[[list[dict[str, Any]]], None]


@dataclass
class CatalogResult:
    records: Counter[Any] = field(default_factory=Counter)
    artists_done: int = 0
    pending_artists: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name"}] left for the next run
    pending_features: list[list[str]] = field(default_factory=list)  # [[track_id, artist_id]]
    stopped: str | None = None  # None | "QUOTA_EXCEEDED" | "RATE_LIMITED"
    collections: int = 0
    public_playlists: int = 0  # of which public (operator-listed or discovered) playlists
    collabs: int = 0  # tracks credited to several artists (kind ``collab``)


def discovery_queries(artist_records: list[dict[str, Any]], genres: int = DISCOVERY_GENRES,
                      artists: int = DISCOVERY_ARTISTS) -> list[str]:
    """Search queries that find public playlists for the catalog: its most common genres (``genre:"…"``)
    then its most popular artists' names.

    >>> recs = [{"data": {"name": "BTS", "genres": ["k-pop"], "popularity": 90}},
    ...         {"data": {"name": "IU", "genres": ["k-pop"], "popularity": 80}}]
    >>> discovery_queries(recs)
    ['genre:"k-pop"', 'BTS', 'IU']
    """
    count: Counter[Any] = Counter()
    for r in artist_records:
        count.update(g for g in (r["data"].get("genres") or []) if g)
    ranked = sorted(artist_records, key=lambda r: (-(r["data"].get("popularity") or 0), r["data"].get("name") or ""))
    names = [r["data"]["name"] for r in ranked if r["data"].get("name")][:artists]
    return [f'genre:"{g}"' for g, _ in count.most_common(genres)] + names


def _stop_reason(e: Exception) -> str:
    return "QUOTA_EXCEEDED" if isinstance(e, QuotaExceeded) else "RATE_LIMITED"


# the chunk loop: checkpoint, quota stop, features queue and public playlists, each one branch
def refresh_catalog(artists: Sequence[Mapping[str, Any]], sources: Sources, emit: Emit, *, emitted_at: str,  # noqa: C901
                    pending_features: list[list[str]] | None = None,
                    on_chunk: Callable[[list[dict[str, Any]]], None] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    user: SpotifyClient | None = None, user_id: str | None = None,
                    public: list[str] | None = None, discover: bool = True,
                    chunk_size: int = CHUNK, flush_records: int = 5000) -> CatalogResult:
    """Refresh ``artists`` (dicts with ``id``, ``name`` and optionally ``genres``/``image_url``).

    ``emit(records)`` sends records (raising aborts the run: nothing is marked done that was not sent);
    ``on_chunk(artist_records)`` runs after each chunk was emitted; ``user``/``user_id``: when given, the user's
    playlists become ``collection_member`` records (kind ``playlist``). ``public``: playlist ids to read as
    public playlists too (then, with ``discover``, the ones :func:`discovery_queries` finds), as long as this
    app may read other users' playlists (extended mode). Tracks credited to several artists (top tracks and
    playlist items) become kind ``collab`` collections.
    """
    res = CatalogResult()
    queue: list[list[str]] = [list(p) for p in (pending_features or [])]  # [track_id, artist_id] awaiting features
    queued = {t for t, _ in queue}
    todo = [dict(a) for a in {a["id"]: a for a in artists}.values()]
    total = len(todo)
    out: list[dict[str, Any]] = []  # built, not yet emitted (buffered so aggregates fill up)
    done: list[dict[str, Any]] = []  # artist records of chunks whose records are all in ``out``
    seen_collabs: set[str] = set()
    refreshed: list[dict[str, Any]] = []  # every artist record of the run (discovery queries)

    def commit(force: bool) -> None:
        """Emit the buffer, then report its artists done (nothing is marked done before it was sent)."""
        if out and (force or len(out) >= flush_records):
            emit(list(out))
            res.records.update(r["type"] for r in out)
            out.clear()
        if not out and done:
            if on_chunk:
                on_chunk(list(done))
            res.artists_done += len(done)
            done.clear()
            if progress:
                progress(res.artists_done, total)

    def flush_features(final: bool) -> None:
        while queue and (final or len(queue) >= FEATURES_PER_CALL):
            batch = queue[:FEATURES_PER_CALL]
            owner = dict(batch)
            found = sources.audio_features([t for t, _ in batch])
            out.extend(features_record(found[t], owner[t], emitted_at=emitted_at) for t, _ in batch if t in found)
            del queue[:len(batch)]

    try:
        flush_features(final=False)
        for i in range(0, total, chunk_size):
            batch = todo[i:i + chunk_size]
            objs = sources.artists([a["id"] for a in batch])
            tops = sources.top_tracks_many([(a["id"], a.get("name") or "") for a in batch])
            for a, tt in zip(batch, tops, strict=True):
                rec = artist_record(a["id"], objs.get(a["id"]) or tt.artist, a, emitted_at=emitted_at)
                done.append(rec)
                refreshed.append(rec)
                out.append(rec)
                out.extend(top_track_records(a["id"], rec["data"]["name"], tt.tracks, tt.via, emitted_at=emitted_at))
                collabs = collab_records(tt.tracks, emitted_at=emitted_at, seen=seen_collabs)
                res.collabs += len({r["data"]["collection_id"] for r in collabs})
                out.extend(collabs)
                for t in tt.tracks:
                    if t["id"] not in queued:
                        queued.add(t["id"])
                        queue.append([t["id"], a["id"]])
            flush_features(final=False)
            commit(force=False)
        flush_features(final=True)
        commit(force=True)
        if user is not None:
            for playlist, tracks in sources.user_playlists(user, user_id):
                out.extend(collection_records("playlist", playlist["id"], playlist.get("name"), tracks,
                                              emitted_at=emitted_at))
                res.collections += 1
            commit(force=True)
        if public is not None:
            read_public(sources, public, refreshed if discover else None, out, res, seen_collabs, emitted_at)
            commit(force=True)
    except (QuotaExceeded, RateLimited) as e:
        res.stopped = _stop_reason(e)
        commit(force=True)  # whole chunks only: an interrupted chunk added nothing to the buffer
        res.pending_artists = [{"id": a["id"], "name": a.get("name")} for a in todo[res.artists_done:]]
        res.pending_features = queue
    return res


def read_public(sources: Sources, listed: list[str], discover_from: list[dict[str, Any]] | None,
                out: list[dict[str, Any]], res: CatalogResult, seen_collabs: set[str], emitted_at: str) -> None:
    """Public playlists into ``out``: the listed ids, then (``discover_from``: artist records) the ones search
    finds — discovery only when the listed ones could be read (an app limited to its user's own playlists
    stops at the first refusal)."""
    done: set[str] = set()

    def take(playlists: Iterable[Mapping[str, Any]]) -> None:
        for playlist, tracks in sources.public_playlists(p for p in playlists if p["id"] not in done):
            done.add(playlist["id"])
            out.extend(collection_records("playlist", playlist["id"], playlist.get("name"), tracks,
                                          emitted_at=emitted_at))
            collabs = collab_records(tracks, emitted_at=emitted_at, seen=seen_collabs)
            res.collabs += len({r["data"]["collection_id"] for r in collabs})
            out.extend(collabs)
            res.collections += 1
            res.public_playlists += 1

    take([{"id": i} for i in dict.fromkeys(listed)])
    if discover_from and sources.caps.get("playlist_items") is not False:
        take(sources.find_playlists(discovery_queries(discover_from)))
