"""Spotify Web API access on spotipy: one client per run, cached tokens, a shared request budget, Retry-After.

>>> api = app_client()                                   # client credentials from settings/secrets  # doctest: +SKIP
>>> api.call("artists", api.sp.artists, ["3Nrfpe0tUJi4K4DXYWgMUX"])                                # doctest: +SKIP
>>> api.calls                                            # HTTP requests per endpoint this run    # doctest: +SKIP
Counter({'artists': 1})

Why not spotipy's own retries: urllib3 retries 429s itself and hides ``Retry-After`` once they run out
(docs/ARCHITECTURE.md §6.1), and its retries bypass any budget. So the session here never retries;
:meth:`SpotifyClient.call` does, and every attempt takes a slot from a :class:`RateBudget` shared by every
client in the process — a run
paces itself below Spotify's rolling 30 s window instead of causing a 429 storm. A 429 pauses the *shared* budget
for ``Retry-After`` seconds (every thread waits, not just the one that was told). ``QUOTA_EXCEEDED`` raises
:class:`QuotaExceeded` at once (no retry can help); the producer checkpoints and stops cleanly.

Settings: ``spotify_api_url`` / ``spotify_token_url`` / ``reccobeats_url`` point at the real services or the local
emulator; credentials come from ``SpotifySecret`` (``SORI_SPOTIFY_CLIENT_ID``/``…_SECRET`` locally).
"""
from __future__ import annotations

import logging
import random
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
import spotipy
from requests.adapters import HTTPAdapter
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

from sori.settings import Settings, get_settings, secret_value

# spotipy logs every error answer at ERROR before raising; here they are handled (retried, probed, fallen back
# from), and what matters is logged by the caller.
logging.getLogger("spotipy.client").setLevel(logging.CRITICAL)

USER_SCOPE = "user-read-recently-played user-follow-read playlist-read-private playlist-read-collaborative"


class ApiError(Exception):
    """A failed API call after retries, or one that retrying cannot fix (4xx)."""

    def __init__(self, endpoint: str, status: int, message: str = "", reason: str | None = None,
                 retry_after: float | None = None):
        super().__init__(f"{endpoint}: HTTP {status}" + (f" {reason}" if reason else "") +
                         (f" — {message}" if message else ""))
        self.endpoint, self.status, self.message, self.reason, self.retry_after = (
            endpoint, status, message, reason, retry_after)


class QuotaExceeded(ApiError):
    """The app's quota is spent (429 ``reason: QUOTA_EXCEEDED``): stop the run, checkpoint, resume next run."""


class RateLimited(ApiError):
    """Retry-After longer than this run is willing to wait (or 429s outlasted every retry): stop like a quota."""


class RateBudget:
    """A request budget per rolling window, shared by every client of a process (thread-safe).

    ``acquire()`` blocks until a slot in the last ``window`` seconds is free and no ``pause`` is in force.
    ``clock``/``sleep`` are injectable so tests do not wait.

    >>> t = [0.0]
    >>> b = RateBudget(2, 30, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    >>> b.acquire(); b.acquire(); b.acquire(); t[0]   # the third waits for the first to leave the window
    30.0
    """

    def __init__(self, limit: int = 150, window: float = 30.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.limit, self.window = max(1, int(limit)), float(window)
        self.clock, self.sleep = clock, sleep
        self._stamps: list[float] = []
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for run summaries
        self.pauses = 0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                cutoff = now - self.window
                if self._stamps and self._stamps[0] <= cutoff:
                    self._stamps = [s for s in self._stamps if s > cutoff]
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return
                else:
                    wait = self._stamps[0] + self.window - now
                self.waited += wait
            self.sleep(max(wait, 0.001))

    def pause(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (Retry-After)."""
        with self._lock:
            self.pauses += 1
            self._paused_until = max(self._paused_until, self.clock() + max(0.0, seconds))


_BUDGETS: dict[tuple[str, int], RateBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def shared_budget(service: str = "spotify", limit: int | None = None) -> RateBudget:
    """The process-wide budget of a service (``spotify``, ``reccobeats``), created on first use."""
    limit = limit or get_settings().spotify_budget_per_30s
    with _BUDGETS_LOCK:
        key = (service, limit)
        if key not in _BUDGETS:
            _BUDGETS[key] = RateBudget(limit)
        return _BUDGETS[key]


class Retrier:
    """Runs one API attempt at a time under a budget; retries 429 (Retry-After), 5xx and connection errors."""

    def __init__(self, budget: RateBudget, *, max_attempts: int = 6, base_delay: float = 0.5,
                 max_delay: float = 20.0, max_retry_after: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None):
        self.budget = budget
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.calls: Counter[Any] = Counter()  # every HTTP attempt, per endpoint
        self.retries: Counter[Any] = Counter()
        self._lock = threading.Lock()

    def run(self, endpoint: str, attempt: Callable[[], Any]) -> Any:
        """``attempt()`` performs one request and raises :class:`ApiError` (normalised) on an error answer."""
        last: ApiError | None = None
        for n in range(self.max_attempts):
            self.budget.acquire()
            with self._lock:
                self.calls[endpoint] += 1
                if n:
                    self.retries[endpoint] += 1
            try:
                return attempt()
            except QuotaExceeded:
                raise
            except ApiError as e:
                last = e
                if e.status == 429:
                    wait = e.retry_after if e.retry_after is not None else self._delay(n)
                    if wait > self.max_retry_after:
                        raise RateLimited(endpoint, 429, f"Retry-After {wait:.0f}s exceeds "
                                          f"{self.max_retry_after:.0f}s", e.reason, wait) from e
                    self.budget.pause(wait)
                    continue
                if e.status >= 500 or e.status == 0:
                    self.sleep(self._delay(n))
                    continue
                raise
        assert last is not None
        if last.status == 429:
            raise RateLimited(endpoint, 429, "still rate limited after every retry", last.reason, last.retry_after)
        raise last

    def _delay(self, n: int) -> float:
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** n)))


def retry_after_seconds(headers: Any) -> float | None:
    if not headers:
        return None
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _from_spotipy(endpoint: str, e: SpotifyException) -> ApiError:
    cls = QuotaExceeded if (e.http_status == 429 and e.reason == "QUOTA_EXCEEDED") else ApiError
    return cls(endpoint, int(e.http_status or 0), str(e.msg).split("\n")[-1].strip(), e.reason,
               retry_after_seconds(e.headers))


def _session(pool: int = 16) -> requests.Session:
    """A session that never retries by itself (retries go through :class:`Retrier` and the budget)."""
    s = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


class SpotifyClient:
    """spotipy plus budgeted retries. ``call(endpoint, fn, *args)`` runs ``fn`` (a bound spotipy method)."""

    def __init__(self, sp: spotipy.Spotify, retrier: Retrier, *, market: str = "KR"):
        self.sp = sp
        self.retrier = retrier
        self.market = market

    @property
    def calls(self) -> Counter[Any]:
        return self.retrier.calls

    def call(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def attempt() -> Any:
            try:
                with warnings.catch_warnings():  # spotipy flags deprecated endpoints; capabilities decide here
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return fn(*args, **kwargs)
            except SpotifyException as e:
                raise _from_spotipy(endpoint, e) from None
            except (requests.ConnectionError, requests.Timeout) as e:
                raise ApiError(endpoint, 0, f"connection error: {e}") from None
        return self.retrier.run(endpoint, attempt)

    def get(self, endpoint: str, path: str, **params: Any) -> Any:
        """GET a path relative to the API prefix (for routes spotipy does not wrap the way we need)."""
        return self.call(endpoint, self.sp._get, path, **params)

    def next(self, endpoint: str, page: dict[str, Any]) -> dict[str, Any] | None:
        """The next page of a paging object (or None)."""
        return self.call(endpoint, self.sp.next, page) if page and page.get("next") else None

    @property
    def refresh_token(self) -> str | None:
        """The user's current refresh token (rotated by the token endpoint when it chooses to)."""
        auth = self.sp.auth_manager
        info = getattr(getattr(auth, "cache_handler", None), "token_info", None) or {}
        return info.get("refresh_token")


class ReccoBeats:
    """ReccoBeats-style audio features: ``GET {base}/audio-features?ids=`` (≤ 40 Spotify ids per call).

    Unknown tracks are simply absent from ``content``; the Spotify id is the last path segment of ``href``.
    """

    MAX_IDS = 40

    def __init__(self, base_url: str, retrier: Retrier, session: requests.Session | None = None,
                 timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.retrier = retrier
        self.session = session or _session()
        self.timeout = timeout

    @property
    def calls(self) -> Counter[Any]:
        return self.retrier.calls

    def audio_features(self, track_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Features keyed by Spotify track id for up to :attr:`MAX_IDS` ids."""
        if len(track_ids) > self.MAX_IDS:
            raise ValueError(f"at most {self.MAX_IDS} ids per ReccoBeats call")

        def attempt() -> Any:
            try:
                r = self.session.get(f"{self.base_url}/audio-features", params={"ids": ",".join(track_ids)},
                                     timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as e:
                raise ApiError("reccobeats", 0, f"connection error: {e}") from None
            if r.status_code >= 400:
                raise ApiError("reccobeats", r.status_code, r.text[:200], None, retry_after_seconds(r.headers))
            return r.json()
        body = self.retrier.run("reccobeats", attempt)
        out = {}
        for item in body.get("content") or []:
            tid = str(item.get("href") or "").rstrip("/").split("/")[-1].split(":")[-1]
            if tid:
                out[tid] = item
        return out


# -- factories -------------------------------------------------------------------------------------------------

def spotify_credentials(settings: Settings | None = None) -> tuple[str, str]:
    settings = settings or get_settings()
    cid = secret_value(settings.spotify_secret_arn, "client_id", env_fallback="SORI_SPOTIFY_CLIENT_ID",
                       settings=settings)
    secret = secret_value(settings.spotify_secret_arn, "client_secret", env_fallback="SORI_SPOTIFY_CLIENT_SECRET",
                          settings=settings)
    return cid, secret


class KeepRefreshTokenCache(MemoryCacheHandler):
    """Token cache that keeps the refresh token unless the token endpoint sends a new one: Spotify may answer a
    refresh without ``refresh_token`` (or with an empty one), and the old token then stays valid.

    >>> c = KeepRefreshTokenCache({"refresh_token": "old"})
    >>> c.save_token_to_cache({"access_token": "a", "refresh_token": None}); c.get_cached_token()["refresh_token"]
    'old'
    """

    def save_token_to_cache(self, token_info):
        old = (self.token_info or {}).get("refresh_token")
        if token_info is not None and not token_info.get("refresh_token") and old:
            token_info = {**token_info, "refresh_token": old}
        super().save_token_to_cache(token_info)


def _spotify(auth, settings: Settings, session: requests.Session) -> spotipy.Spotify:
    sp = spotipy.Spotify(auth_manager=auth, requests_session=session, requests_timeout=10)
    sp.prefix = settings.spotify_api_url if settings.spotify_api_url.endswith("/") else settings.spotify_api_url + "/"
    return sp


def app_client(settings: Settings | None = None, *, budget: RateBudget | None = None,
               retrier: Retrier | None = None) -> SpotifyClient:
    """Client-credentials client (catalog data): token cached in memory for the run."""
    settings = settings or get_settings()
    cid, secret = spotify_credentials(settings)
    session = _session()
    auth = SpotifyClientCredentials(client_id=cid, client_secret=secret, cache_handler=MemoryCacheHandler(),
                                    requests_session=session, requests_timeout=10)
    auth.OAUTH_TOKEN_URL = settings.spotify_token_url  # instance override: spotipy reads self.OAUTH_TOKEN_URL
    retrier = retrier or Retrier(budget or shared_budget("spotify", settings.spotify_budget_per_30s))
    return SpotifyClient(_spotify(auth, settings, session), retrier, market=settings.spotify_market)


def user_client(refresh_token: str, settings: Settings | None = None, *, budget: RateBudget | None = None,
                retrier: Retrier | None = None, scope: str = USER_SCOPE) -> SpotifyClient:
    """The listening user's client from a refresh token; read ``.refresh_token`` afterwards for the rotated one."""
    settings = settings or get_settings()
    cid, secret = spotify_credentials(settings)
    session = _session()
    cache = KeepRefreshTokenCache(token_info={"access_token": "", "token_type": "Bearer", "expires_at": 0,
                                           "refresh_token": refresh_token, "scope": scope})
    auth = SpotifyOAuth(client_id=cid, client_secret=secret, redirect_uri="http://127.0.0.1/callback", scope=scope,
                        cache_handler=cache, requests_session=session, requests_timeout=10, open_browser=False)
    auth.OAUTH_TOKEN_URL = settings.spotify_token_url
    retrier = retrier or Retrier(budget or shared_budget("spotify", settings.spotify_budget_per_30s))
    return SpotifyClient(_spotify(auth, settings, session), retrier, market=settings.spotify_market)


def reccobeats_client(settings: Settings | None = None, *, budget: RateBudget | None = None) -> ReccoBeats:
    settings = settings or get_settings()
    return ReccoBeats(settings.reccobeats_url, Retrier(budget or shared_budget("reccobeats",
                                                                              settings.spotify_budget_per_30s)))
