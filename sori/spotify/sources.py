"""Spotify data with named fallbacks, so a development-mode app still produces everything (docs/ARCHITECTURE.md §6.1).

=================  ==========================================  ===============================================
data               first choice                                fallback (name recorded in ``fallbacks_used``)
=================  ==========================================  ===============================================
artist objects     ``GET /artists?ids=`` (50 per call)         ``artists→search`` (artist objects from the
                                                               top-tracks search, no extra call), then
                                                               ``artists→single-artist`` (``GET /artists/{id}``)
                                                               when the 10 results miss the artist
top tracks         ``GET /artists/{id}/top-tracks``            ``top_tracks→search``: ``type=artist,track``,
                                                               ``artist:"NAME"``, limit 10, kept if by the id
audio features     ``GET /audio-features?ids=`` (100/call)     ``audio_features→reccobeats`` (40/call), then
                                                               ``audio_features→missing`` (recorded, not faked)
chart tracks       editorial "Top 50" playlist items           ``charts→csv`` (charts.spotify.com weekly CSV),
                   (rank = the item's playlist position)       else ``charts→awaiting-drop`` (S3 landing drop);
                                                               one id answering 404 while the Global Top 50
                                                               reads: ``charts→unknown-playlist-id`` (that
                                                               chart only)
track → artists    ``GET /tracks?ids=`` (50/call)              ``track_artists→single-track``
collections        the user's playlists (owned or followed)    ``collections→own-playlists``
=================  ==========================================  ===============================================

>>> src = Sources(app_client(), Capabilities(), reccobeats_client())    # doctest: +SKIP
>>> src.top_tracks("3Nrfpe0tUJi4K4DXYWgMUX", "BTS").via                # doctest: +SKIP
'top-tracks'

No boto3 here; only HTTP through :mod:`sori.spotify.client` (budgeted, retried).
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import requests

from sori.spotify.capabilities import Capabilities, Unavailable, log
from sori.spotify.client import (
    ApiError,
    QuotaExceeded,
    RateLimited,
    ReccoBeats,
    Retrier,
    SpotifyClient,
    retry_after_seconds,
)

T = TypeVar("T")
R = TypeVar("R")

FEATURE_KEYS = ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
                "instrumentalness", "liveness", "valence", "tempo", "time_signature", "duration_ms")
_INT_FEATURES = {"key", "mode", "time_signature", "duration_ms"}

ARTISTS_PER_CALL = 50
FEATURES_PER_CALL = 100
TRACKS_PER_CALL = 50
SEARCH_LIMIT = 10  # development mode caps search at 10
GLOBAL_TOP50 = "37i9dQZEVXbMDoHDwVN2tF"  # "Top 50 - Global": known to exist, so a 404 on it means "not for this app"


def chunks(items: list[T], n: int) -> Iterator[list[T]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def map_concurrent(fn: Callable[[T], R], items: Iterable[T], workers: int = 1) -> list[R]:
    """``[fn(x) for x in items]`` with up to ``workers`` threads (order kept; the first error propagates)."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as ex:
        return list(ex.map(fn, items))


@dataclass
class TopTracks:
    artist_id: str
    tracks: list[dict[str, Any]]
    via: str  # "top-tracks" | "search"
    artist: dict[str, Any] | None = None  # a full artist object when the search returned it


@dataclass
class Features:
    track_id: str
    values: dict[str, Any]
    via: str  # "spotify" | "reccobeats"


@dataclass
class Fallbacks:
    """Fallbacks used this run, in first-use order (thread-safe)."""

    used: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, name: str) -> None:
        with self._lock:
            if name not in self.used:
                self.used.append(name)


def features_from(obj: dict[str, Any]) -> dict[str, Any]:
    """The contract's feature fields from a Spotify or ReccoBeats features object (absent ones left out).

    ``key: -1`` means "no key detected": key and mode are then both unknown (left out, stored as null), so the
    meaningless ``mode`` that comes with it is not counted in any major-key share.

    >>> features_from({"key": -1, "mode": 1, "tempo": 98})
    {'tempo': 98.0}
    """
    out = {}
    for k in FEATURE_KEYS:
        v = obj.get(k)
        if v is None:
            continue
        out[k] = int(v) if k in _INT_FEATURES else float(v)
    if out.get("key", 0) < 0:
        out.pop("key")
        out.pop("mode", None)
    return out


class Sources:
    """Spotify data with fallbacks. ``api``: client-credentials :class:`SpotifyClient`; ``reccobeats``: optional;
    ``charts_csv_url``: base URL serving ``regional-<cc>-weekly-<date>.csv`` (None: wait for S3 drops)."""

    def __init__(self, api: SpotifyClient, caps: Capabilities | None = None, reccobeats: ReccoBeats | None = None,
                 *, charts_csv_url: str | None = None, charts_retrier: Retrier | None = None,
                 session: requests.Session | None = None, workers: int = 4):
        self.api = api
        self.caps = caps or Capabilities()
        self.reccobeats = reccobeats
        self.charts_csv_url = charts_csv_url.rstrip("/") if charts_csv_url else None
        self.charts_retrier = charts_retrier
        self.session = session or requests.Session()
        self.workers = workers
        self.fallbacks = Fallbacks()
        self._track_artists: dict[str, list[dict[str, Any]]] = {}
        self.missing_playlists: list[str] = []  # Top 50 ids answered 404 while editorial playlists are readable

    # -- artists -------------------------------------------------------------------------------------------------
    def artists(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Full artist objects for ``ids`` (batches of 50); ``{}`` when the batch endpoint is unavailable."""
        out: dict[str, dict[str, Any]] = {}
        for batch in chunks(list(dict.fromkeys(ids)), ARTISTS_PER_CALL):
            try:
                resp = self.caps.attempt("artists_batch",
                                         functools.partial(self.api.call, "artists", self.api.sp.artists, batch))
            except Unavailable:
                self.fallbacks.note("artists→search")
                return out
            for a in (resp or {}).get("artists") or []:
                if a and a.get("id"):
                    out[a["id"]] = a
        return out

    def find_artist(self, name: str) -> dict[str, Any] | None:
        """The best search match for an artist name (one call), or None."""
        clean = " ".join(name.replace('"', " ").split())
        resp = self.api.call("search", self.api.sp.search, q=f'artist:"{clean}"', limit=1, type="artist",
                             market=self.api.market) or {}
        items = [a for a in (resp.get("artists") or {}).get("items") or [] if a and a.get("id")]
        return items[0] if items else None

    # -- top tracks ----------------------------------------------------------------------------------------------
    def top_tracks(self, artist_id: str, name: str) -> TopTracks:
        """The artist's top tracks: ``/top-tracks`` or the search fallback (tracks by this artist id only)."""
        try:
            resp = self.caps.attempt("top_tracks", lambda: self.api.call(
                "top-tracks", self.api.sp.artist_top_tracks, artist_id, self.api.market))
            return TopTracks(artist_id, [t for t in (resp or {}).get("tracks") or [] if t and t.get("id")],
                             "top-tracks")
        except Unavailable:
            self.fallbacks.note("top_tracks→search")
        except ApiError as e:
            if e.status != 404:
                raise
            return TopTracks(artist_id, [], "top-tracks")  # unknown artist
        if not name.strip():  # the search needs the name: one single-artist call (allowed in every mode)
            artist = self.single_artist(artist_id)
            found = self._search_top_tracks(artist_id, (artist or {}).get("name") or "")
            found.artist = found.artist or artist
            return found
        found = self._search_top_tracks(artist_id, name)
        if found.artist is None:  # the 10 search results missed it: the single GET every mode still allows
            self.fallbacks.note("artists→single-artist")
            found.artist = self.single_artist(artist_id)
        return found

    def single_artist(self, artist_id: str) -> dict[str, Any] | None:
        """``GET /artists/{id}`` (allowed in development mode too); None for an unknown id."""
        try:
            return cast("dict[str, Any] | None", self.api.call("artist", self.api.sp.artist, artist_id))
        except ApiError as e:
            if e.status in (400, 404) and not isinstance(e, (QuotaExceeded, RateLimited)):
                return None
            raise

    def _search_top_tracks(self, artist_id: str, name: str) -> TopTracks:
        clean = " ".join(name.replace('"', " ").split())
        if not clean:
            return TopTracks(artist_id, [], "search")
        resp = self.api.call("search", self.api.sp.search, q=f'artist:"{clean}"', limit=SEARCH_LIMIT,
                             type="artist,track", market=self.api.market) or {}
        tracks = [t for t in (resp.get("tracks") or {}).get("items") or []
                  if t and any(a.get("id") == artist_id for a in t.get("artists") or [])]
        artist = next((a for a in (resp.get("artists") or {}).get("items") or [] if a and a.get("id") == artist_id),
                      None)
        return TopTracks(artist_id, tracks, "search", artist)

    def top_tracks_many(self, artists: list[tuple[str, str]]) -> list[TopTracks]:
        """:meth:`top_tracks` for many ``(artist_id, name)`` pairs, ``workers`` at a time (budget shared)."""
        return map_concurrent(lambda a: self.top_tracks(*a), artists, self.workers)

    # -- audio features ------------------------------------------------------------------------------------------
    def audio_features(self, track_ids: list[str]) -> dict[str, Features]:
        """Features per track id: Spotify (100/call) → ReccoBeats (40/call) → absent (noted as missing)."""
        ids = list(dict.fromkeys(track_ids))
        out: dict[str, Features] = {}
        rest = ids
        if self.caps.get("audio_features") is not False:
            rest = []
            for batch in chunks(ids, FEATURES_PER_CALL):
                try:
                    resp = self.caps.attempt("audio_features", functools.partial(
                        self.api.call, "audio-features", self.api.sp.audio_features, batch))
                except Unavailable:
                    rest.extend(batch)
                    continue
                for tid, obj in zip(batch, resp or [], strict=False):
                    if obj:
                        out[tid] = Features(tid, features_from(obj), "spotify")
                    else:
                        rest.append(tid)
        if rest and self.caps.get("audio_features") is False:
            rest = self._reccobeats(rest, out)
        if rest:
            self.fallbacks.note("audio_features→missing")
        return out

    def _reccobeats(self, ids: list[str], out: dict[str, Features]) -> list[str]:
        reccobeats = self.reccobeats
        if reccobeats is None:
            return ids
        self.fallbacks.note("audio_features→reccobeats")

        def one(batch: list[str]) -> dict[str, dict[str, Any]]:
            try:
                return reccobeats.audio_features(batch)
            except ApiError as e:  # ReccoBeats down: those tracks are recorded as missing, the run goes on
                if isinstance(e, QuotaExceeded):
                    raise
                return {}
        missing = []
        for batch, found in zip(chunks(ids, ReccoBeats.MAX_IDS), map_concurrent(
                one, list(chunks(ids, ReccoBeats.MAX_IDS)), self.workers), strict=True):
            for tid in batch:
                if tid in found:
                    out[tid] = Features(tid, features_from(found[tid]), "reccobeats")
                else:
                    missing.append(tid)
        return missing

    # -- charts --------------------------------------------------------------------------------------------------
    def chart_playlist(self, playlist_id: str) -> list[tuple[int, dict[str, Any]]] | None:
        """``(position, track)`` of an editorial Top 50 playlist in order (position counts every item, skipped ones
        too), or None when this app may not read it or the id does not exist (that chart alone takes its
        fallback; see :meth:`_playlist_missing`)."""
        try:
            page = self.caps.attempt("editorial_playlists", lambda: self.api.call(
                "playlist-items", self.api.sp.playlist_items, playlist_id, limit=100),
                known_id=playlist_id == GLOBAL_TOP50)
        except Unavailable:
            self.fallbacks.note("charts→csv" if self.charts_csv_url else "charts→awaiting-drop")
            return None
        except ApiError as e:
            if e.status != 404 or isinstance(e, (QuotaExceeded, RateLimited)):
                raise
            self._playlist_missing(playlist_id)
            return None
        return self._collect_positions(page)

    def _playlist_missing(self, playlist_id: str) -> None:
        """A 404 on a Top 50 id: "this id does not exist" unless the known Global Top 50 is hidden too ("this app
        may not read editorial playlists", one extra call, made once per run)."""
        if self.caps.get("editorial_playlists") is None:
            try:
                self.caps.attempt("editorial_playlists", lambda: self.api.call(
                    "playlist-items", self.api.sp.playlist_items, GLOBAL_TOP50, limit=1), known_id=True)
            except Unavailable:
                self.fallbacks.note("charts→csv" if self.charts_csv_url else "charts→awaiting-drop")
                return
        self.missing_playlists.append(playlist_id)
        self.fallbacks.note("charts→unknown-playlist-id")
        log.warning("Top 50 playlist %s does not exist (HTTP 404); this chart takes its fallback", playlist_id)

    def chart_csv(self, country: str, week: str) -> bytes | None:
        """The weekly CSV export for ``country``/``week`` from ``charts_csv_url`` (None: not configured / absent)."""
        if not self.charts_csv_url:
            return None
        url = f"{self.charts_csv_url}/regional-{country}-weekly-{week}.csv"

        def attempt() -> bytes | None:
            try:
                r = self.session.get(url, timeout=30)
            except (requests.ConnectionError, requests.Timeout) as e:
                raise ApiError("charts-csv", 0, str(e)) from None
            if r.status_code == 404:
                return None
            if r.status_code >= 400:
                raise ApiError("charts-csv", r.status_code, r.text[:200], None, retry_after_seconds(r.headers))
            return r.content
        if self.charts_retrier is None:
            return attempt()
        data: bytes | None = self.charts_retrier.run("charts-csv", attempt)
        return data

    def track_artists(self, track_ids: list[str], names: Mapping[str, Iterable[str]] | None = None,
                      resolve: Callable[[str], str | None] | None = None) -> dict[str, list[dict[str, Any]]]:
        """Simplified artist objects per track id: batch of 50; when that is unavailable, the artist names the
        caller knows (``names[track_id]``) resolved by ``resolve(name) -> id | None`` (e.g. an unambiguous RDS
        match, no call); one call per remaining track last."""
        todo = [t for t in dict.fromkeys(track_ids) if t not in self._track_artists]
        single: list[str] = []
        for batch in chunks(todo, TRACKS_PER_CALL):
            if self.caps.get("tracks_batch") is False:
                single.extend(batch)
                continue
            try:
                resp = self.caps.attempt("tracks_batch", functools.partial(
                    self.api.call, "tracks", self.api.sp.tracks, batch, market=self.api.market))
            except Unavailable:
                single.extend(batch)
                continue
            for tid, t in zip(batch, (resp or {}).get("tracks") or [], strict=False):
                self._track_artists[tid] = list((t or {}).get("artists") or [])
        if single and names and resolve:
            left = []
            for tid in single:
                found = [(resolve(n), n) for n in names.get(tid) or ()]
                if found and found[0][0]:  # the primary artist is known; unknown featured ones stay names
                    self._track_artists[tid] = [{"id": i, "name": n} for i, n in found if i]
                else:
                    left.append(tid)
            if len(left) < len(single):
                self.fallbacks.note("track_artists→known-names")
            single = left
        if single:
            self.fallbacks.note("track_artists→single-track")

            def one(tid: str) -> tuple[str, list[dict[str, Any]]]:
                try:
                    t = self.api.call("track", self.api.sp.track, tid, market=self.api.market)
                except ApiError as e:
                    if e.status in (400, 404) and not isinstance(e, (QuotaExceeded, RateLimited)):
                        return tid, []
                    raise
                return tid, list((t or {}).get("artists") or [])
            for tid, artists in map_concurrent(one, single, self.workers):
                self._track_artists[tid] = artists
        return {t: self._track_artists.get(t, []) for t in track_ids}

    # -- collections ---------------------------------------------------------------------------------------------
    def _collect_positions(self, page: dict[str, Any] | None,
                           api: SpotifyClient | None = None) -> list[tuple[int, dict[str, Any]]]:
        """``(position, track)`` for every playable track of a playlist, following pages. ``position`` is the
        item's 1-based place in the playlist, so a null item, an episode or a local file before a track does not
        move it (a chart's rank is its position). Feb-2026 items carry ``item``; older ones ``track``."""
        api = api or self.api
        out: list[tuple[int, dict[str, Any]]] = []
        position = 0
        while page:
            for it in page.get("items") or []:
                position += 1
                t = (it or {}).get("item") or (it or {}).get("track")
                if t and t.get("id") and not t.get("is_local") and t.get("type", "track") == "track":
                    out.append((position, t))
            page = api.next("playlist-items", page)
        return out

    def _collect_items(self, page: dict[str, Any] | None, api: SpotifyClient | None = None) -> list[dict[str, Any]]:
        """The playable track objects of a playlist in order (see :meth:`_collect_positions`)."""
        return [t for _, t in self._collect_positions(page, api)]

    def find_playlists(self, queries: Iterable[str], limit: int = 50) -> list[dict[str, Any]]:
        """Playlist objects found by ``search type=playlist`` for each query, deduplicated, in discovery order."""
        seen: dict[str, dict[str, Any]] = {}
        for q in dict.fromkeys(x for x in queries if x):
            page = self.api.call("search", self.api.sp.search, q, limit=limit, type="playlist")
            for p in ((page or {}).get("playlists") or {}).get("items") or []:
                if p and p.get("id") and p["id"] not in seen:
                    seen[p["id"]] = p
        return list(seen.values())

    def public_playlists(self, playlists: Iterable[Mapping[str, Any]]
                         ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Public playlists (``{"id", "name"?}``) with their tracks, one at a time. Stops at once when this app
        may not read other users' playlist items (development mode: ``collections→own-playlists``)."""
        for p in playlists:
            def fetch(pid: str = p["id"]) -> Any:
                return self.api.call("playlist-items", self.api.sp.playlist_items, pid, limit=100)
            first, refused = self._first_page(fetch, gated=True, gone=(400, 404))
            if refused:
                return
            if first is not None:  # else a listed playlist that is gone
                yield dict(p), self._collect_items(first)

    def _first_page(self, fetch: Callable[[], dict[str, Any]], *, gated: bool,
                    gone: tuple[int, ...]) -> tuple[dict[str, Any] | None, bool]:
        """(first items page or None when the playlist is gone, whether this app may not read such items)."""
        try:
            return (self.caps.attempt("playlist_items", fetch) if gated else fetch()), False
        except Unavailable:
            self.fallbacks.note("collections→own-playlists")
            return None, True
        except ApiError as e:
            if isinstance(e, (QuotaExceeded, RateLimited)) or e.status not in gone:
                raise
            return None, False

    def user_playlists(self, user: SpotifyClient,
                       user_id: str | None = None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The user's playlists (owned or followed) with their tracks; followed ones are skipped when this app may
        only read its user's own playlists (``collections→own-playlists``)."""
        out = []
        page = user.call("me-playlists", user.sp.current_user_playlists, limit=50)
        playlists: list[dict[str, Any]] = []
        while page:
            playlists.extend(p for p in page.get("items") or [] if p and p.get("id"))
            page = user.next("me-playlists", page)
        for p in playlists:
            own = (user_id and (p.get("owner") or {}).get("id") == user_id) or p.get("collaborative")

            def fetch(pid: str = p["id"]) -> Any:
                return user.call("playlist-items", user.sp.playlist_items, pid, limit=100)
            first, _ = self._first_page(fetch, gated=not own, gone=(403, 404))
            if first is not None:
                out.append((p, self._collect_items(first, user)))
        return out
