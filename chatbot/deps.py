"""Wiring: the :class:`chatbot.service.Backend` over the real adapters, built once per container and reused.

``LiveBackend(settings)`` reads artists/aliases/related artists from RDS MySQL (``sori.stores.mysql``: one
connection per pool thread, re-pinged before use), top tracks from DynamoDB (``sori.stores.dynamo``), searches
Spotify (``sori.spotify.client``: one client, token cached, **no retries inside a request**, a 429 makes search
unavailable for its Retry-After), and asks the catalog producer for a refresh through SQS (``RefreshQueue``).

Every heavy import (pymysql, boto3, spotipy) happens on first use, not at import: the handler module's cold
import stays small, and nothing here imports pandas/pyarrow/awswrangler.

The name index (every artist name + alias, for :mod:`chatbot.resolve`) is cached per container for
:data:`INDEX_TTL_S`; when it is older, the stale one keeps answering while one background load replaces it. The
cold load builds only the exact-name maps; the fuzzy keys follow on the first fuzzy lookup (a container's first
answer is usually an exact name), and a background reload builds them before swapping in.

>>> backend = get_backend()                     # the container's backend          # doctest: +SKIP
>>> backend.index().exact("bts")                                                    # doctest: +SKIP
['3Nrfpe0tUJi4K4DXYWgMUX']
"""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chatbot.resolve import NameIndex
from chatbot.service import SearchUnavailable
from sori._types import BotoClient
from sori.settings import ChatbotSettings, Settings

if TYPE_CHECKING:
    import pymysql

    from sori.spotify.client import SpotifyClient

__all__ = ["INDEX_TTL_S", "SEARCH_LIMIT", "LiveBackend", "get_backend", "reset_backend"]

log = logging.getLogger(__name__)

INDEX_TTL_S = 300.0
TOP_TRACKS_TTL_S = 600.0  # top tracks change at most once a night; a container may serve them for 10 minutes
TOP_TRACKS_EMPTY_TTL_S = 60.0  # "none yet" is re-checked sooner: a refresh may be on its way
TOP_TRACKS_CACHE_MAX = 4096
SEARCH_LIMIT = 10  # Spotify development mode's maximum; valid in extended mode too
SPOTIFY_TIMEOUT_S = 1.5


class TTLCache:
    """A small thread-safe map whose entries expire (per-entry TTL); the oldest go first when full.

    >>> c = TTLCache(2); c.put("a", 1, ttl=60); c.get("a"), c.get("b")
    (1, None)
    """

    def __init__(self, max_entries: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Any) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] <= self.clock():
                self.misses += 1
                return None
            self.hits += 1
            return hit[1]

    def put(self, key: Any, value: Any, *, ttl: float) -> None:
        with self._lock:
            if key not in self._data and len(self._data) >= self.max_entries:
                now = self.clock()
                for k in [k for k, (exp, _) in self._data.items() if exp <= now] or [next(iter(self._data))]:
                    del self._data[k]
            self._data.pop(key, None)
            self._data[key] = (self.clock() + ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class WindowLimiter:
    """At most ``limit`` calls per rolling ``window`` seconds, **without waiting**: :meth:`try_acquire` says no
    at once when the window is full (a chat answer degrades; it never queues behind other users' searches).

    >>> t = [0.0]; w = WindowLimiter(2, 30, clock=lambda: t[0])
    >>> w.try_acquire(), w.try_acquire(), w.try_acquire()
    (True, True, False)
    >>> t[0] = 30.5; w.try_acquire()
    True
    """

    def __init__(self, limit: int, window: float = 30.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = max(1, int(limit)), float(window), clock
        self._stamps: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            now = self.clock()
            while self._stamps and self._stamps[0] <= now - self.window:
                self._stamps.popleft()
            if len(self._stamps) >= self.limit:
                return False
            self._stamps.append(now)
            return True


class LiveBackend:
    """The chatbot's data access over MySQL, DynamoDB, Spotify and SQS (see the module docstring)."""

    def __init__(self, settings: Settings | None = None, *, index_ttl_s: float = INDEX_TTL_S):
        # checked here, on the first request that needs data (the cold start), not on first use of each value
        checked = ChatbotSettings.from_settings(settings) if settings is not None else ChatbotSettings.current()
        self.settings = checked.base
        self.index_ttl_s = index_ttl_s
        self._index: NameIndex | None = None
        self._index_at = 0.0
        self._index_lock = threading.Lock()
        self._reloading = False
        self._top_tracks_store: Any = None
        self.top_tracks_cache = TTLCache(TOP_TRACKS_CACHE_MAX)
        self._sqs: Any = None
        self._spotify: SpotifyClient | None = None
        self._spotify_lock = threading.Lock()
        self._search_blocked_until = 0.0
        self.search_limiter = WindowLimiter(self.settings.spotify_budget_per_30s)

    # -- MySQL ------------------------------------------------------------------------------------------------
    def _conn(self) -> pymysql.Connection:
        from sori.stores.mysql import connect

        return connect(self.settings)

    def _load_index(self) -> NameIndex:
        from sori.stores.mysql import ArtistStore

        store = ArtistStore(self._conn())
        t0 = time.perf_counter()
        idx = NameIndex(store.name_index(), [(a, i) for a, i, _ in store.aliases()])
        log.info("name index loaded: %d artists in %.0f ms", len(idx), (time.perf_counter() - t0) * 1000)
        return idx

    def index(self) -> NameIndex:
        now = time.monotonic()
        idx = self._index
        if idx is not None and now - self._index_at < self.index_ttl_s:
            return idx
        if idx is None:
            with self._index_lock:
                if self._index is None:
                    self._index, self._index_at = self._load_index(), time.monotonic()
                return self._index
        with self._index_lock:  # stale: answer with it, reload once in the background
            if self._reloading:
                return idx
            self._reloading = True
        threading.Thread(target=self._reload, name="chatbot-index", daemon=True).start()
        return idx

    def _reload(self) -> None:
        try:
            fresh = self._load_index().warm()  # in the background: build the fuzzy keys here, not in a request
            with self._index_lock:
                self._index, self._index_at = fresh, time.monotonic()
        except Exception:
            log.exception("name index reload failed; keeping the old one")
            self._index_at = time.monotonic() - self.index_ttl_s / 2  # try again later, not on every request
        finally:
            self._reloading = False

    def artist(self, artist_id: str) -> dict[str, Any] | None:
        from sori.stores.mysql import ArtistStore

        return ArtistStore(self._conn()).get(artist_id)

    def related(self, artist_id: str, limit: int) -> list[dict[str, Any]]:
        from sori.stores.mysql import RelatedStore

        return RelatedStore(self._conn()).current(artist_id, limit=limit)

    def add_artist(self, artist: Mapping[str, Any]) -> None:
        from sori.stores.mysql import ArtistStore

        ArtistStore(self._conn()).upsert_artists([artist], source="chatbot")

    def add_alias(self, alias_norm: str, artist_id: str, source: str) -> bool:
        from sori.stores.mysql import ArtistStore

        return ArtistStore(self._conn()).add_alias(alias_norm, artist_id, source)

    def _aws_client(self, service: str) -> BotoClient:
        """A boto3 client with short timeouts and one retry: the request's deadline, not boto's, decides."""
        import boto3
        from botocore.config import Config

        return boto3.client(service, region_name=self.settings.region,
                            config=Config(connect_timeout=1, read_timeout=1.5,
                                          retries={"max_attempts": 2, "mode": "standard"},
                                          max_pool_connections=16))

    # -- DynamoDB -----------------------------------------------------------------------------------------------
    def top_tracks(self, artist_id: str, limit: int) -> list[dict[str, Any]]:
        """The artist's current top tracks (DynamoDB), cached per container for :data:`TOP_TRACKS_TTL_S`."""
        cached = self.top_tracks_cache.get(artist_id)
        if cached is not None and (len(cached) >= limit or cached.complete):
            return list(cached[:limit])
        if self._top_tracks_store is None:
            from sori.stores.dynamo import TopTracksStore

            self._top_tracks_store = TopTracksStore(self.settings.top_tracks_table,
                                                    client=self._aws_client("dynamodb"))
        fetch = max(limit, 5)
        items = _Tracks(self._top_tracks_store.top_tracks(artist_id, limit=fetch))
        items.complete = len(items) < fetch
        self.top_tracks_cache.put(artist_id, items, ttl=TOP_TRACKS_TTL_S if items else TOP_TRACKS_EMPTY_TTL_S)
        return list(items[:limit])

    # -- SQS -------------------------------------------------------------------------------------------------
    def request_refresh(self, artist_ids: Sequence[str]) -> None:
        self._enqueue({"artist_ids": list(artist_ids)})

    def request_lookup(self, names: Sequence[str]) -> None:
        """Queue a name nothing matched for the catalog function to look up on Spotify (same queue)."""
        self._enqueue({"artist_names": list(names)})

    def _enqueue(self, body: Mapping[str, Any]) -> None:
        """One message on RefreshQueue for CatalogFunction."""
        if not self.settings.refresh_queue_url:
            raise RuntimeError("SORI_REFRESH_QUEUE_URL is not set")
        if self._sqs is None:
            self._sqs = self._aws_client("sqs")
        self._sqs.send_message(QueueUrl=self.settings.refresh_queue_url,
                               MessageBody=json.dumps(body, ensure_ascii=False))

    # -- Spotify ---------------------------------------------------------------------------------------------
    def _client(self) -> SpotifyClient:
        with self._spotify_lock:
            if self._spotify is None:
                from sori.spotify.client import RateBudget, Retrier, app_client

                # one attempt per request: a 429 or 5xx degrades the answer instead of eating the deadline.
                # The Retrier's own budget would *wait* for a slot; ours (search_limiter) refuses instead.
                retrier = Retrier(RateBudget(10 ** 9), max_attempts=1)
                api = app_client(self.settings, retrier=retrier)
                api.sp.requests_timeout = SPOTIFY_TIMEOUT_S
                auth = api.sp.auth_manager
                if hasattr(auth, "requests_timeout"):
                    auth.requests_timeout = SPOTIFY_TIMEOUT_S
                self._spotify = api
            return self._spotify

    def search(self, query: str, types: str, timeout: float) -> dict[str, Any]:
        """``{"artists": [...], "tracks": [...]}`` for ``query`` (≤ :data:`SEARCH_LIMIT` each)."""
        if time.monotonic() < self._search_blocked_until:
            raise SearchUnavailable("rate limited (waiting out Retry-After)")
        if not self.search_limiter.try_acquire():
            raise SearchUnavailable("over our own Spotify request budget")
        from sori.spotify.client import ApiError

        try:
            api = self._client()
        except KeyError as e:  # no credentials configured
            raise SearchUnavailable(f"no Spotify credentials: {e}") from None
        try:
            body = api.call("search", api.sp.search, q=query[:200], limit=SEARCH_LIMIT, type=types,
                            market=self.settings.spotify_market)
        except ApiError as e:
            if e.status == 429:
                self._search_blocked_until = time.monotonic() + min(float(e.retry_after or 30.0), 3600.0)
            raise SearchUnavailable(str(e)) from None
        body = body if isinstance(body, Mapping) else {}
        return {"artists": list(((body.get("artists") or {}).get("items")) or []),
                "tracks": list(((body.get("tracks") or {}).get("items")) or [])}


class _Tracks(list[Any]):
    """A cached top-tracks list that knows whether it holds all the artist has (fewer than were asked for)."""

    complete = False


_backend: LiveBackend | None = None
_backend_lock = threading.Lock()


def get_backend() -> LiveBackend:
    """The container's backend (built on first use; reused by every later invocation)."""
    global _backend
    if _backend is None:
        with _backend_lock:
            if _backend is None:
                _backend = LiveBackend()
    return _backend


def reset_backend() -> None:
    """Forget the cached backend (tests that change the environment)."""
    global _backend
    with _backend_lock:
        _backend = None
