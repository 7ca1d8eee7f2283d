"""Rate budget, Retry-After handling, QUOTA_EXCEEDED, the capability probe (no network: fake attempts)."""
from __future__ import annotations

import random

import pytest

from sori.spotify.capabilities import Capabilities, Unavailable
from sori.spotify.client import ApiError, QuotaExceeded, RateBudget, RateLimited, Retrier


class Clock:
    def __init__(self):
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def budget(limit=3, window=30.0):
    c = Clock()
    return RateBudget(limit, window, clock=c, sleep=c.sleep), c


def test_budget_never_exceeds_its_window():
    b, c = budget(limit=5)
    stamps = []
    for _ in range(23):
        b.acquire()
        stamps.append(c.t)
    for _i, t in enumerate(stamps):  # any 30 s window holds at most 5 requests
        assert sum(1 for u in stamps if t <= u < t + 30) <= 5


def test_pause_holds_every_caller():
    b, c = budget(limit=100)
    b.acquire()
    b.pause(7)
    b.acquire()
    assert c.t == pytest.approx(7)
    assert b.pauses == 1 and b.waited == pytest.approx(7)


def retrier(limit=1000, **kw):
    b, c = budget(limit=limit)
    return Retrier(b, sleep=c.sleep, rng=random.Random(0), **kw), b, c


def test_429_honours_retry_after_through_the_shared_budget():
    r, b, c = retrier()
    answers = [ApiError("x", 429, retry_after=3), ApiError("x", 429, retry_after=2), "ok"]

    def attempt():
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a
    assert r.run("top-tracks", attempt) == "ok"
    assert r.calls["top-tracks"] == 3 and r.retries["top-tracks"] == 2
    assert c.t == pytest.approx(5)  # waited exactly what Retry-After said, via the budget's pause
    assert b.pauses == 2


def test_quota_exceeded_stops_at_once():
    r, _, _ = retrier()
    n = []

    def attempt():
        n.append(1)
        raise QuotaExceeded("search", 429, "Too many requests", "QUOTA_EXCEEDED")
    with pytest.raises(QuotaExceeded):
        r.run("search", attempt)
    assert len(n) == 1


def test_an_unbearable_retry_after_stops_the_run():
    r, _, c = retrier(max_retry_after=60)
    with pytest.raises(RateLimited):
        r.run("search", lambda: (_ for _ in ()).throw(ApiError("search", 429, retry_after=86400)))
    assert c.t == 0


def test_5xx_is_retried_with_backoff_then_raised():
    r, _, c = retrier(max_attempts=4)
    with pytest.raises(ApiError) as e:
        r.run("artists", lambda: (_ for _ in ()).throw(ApiError("artists", 503)))
    assert e.value.status == 503 and r.calls["artists"] == 4 and len(c.sleeps) == 4


def test_4xx_is_not_retried():
    r, _, _ = retrier()
    with pytest.raises(ApiError):
        r.run("artists", lambda: (_ for _ in ()).throw(ApiError("artists", 400)))
    assert r.calls["artists"] == 1


def test_capability_is_probed_once_and_remembered():
    caps = Capabilities()
    calls = []

    def forbidden():
        calls.append(1)
        raise ApiError("top-tracks", 403, "Forbidden")
    for _ in range(3):
        with pytest.raises(Unavailable):
            caps.attempt("top_tracks", forbidden)
    assert len(calls) == 1
    assert caps.as_dict()["top_tracks"] is False and caps.as_dict()["audio_features"] is None


def test_a_404_on_an_item_endpoint_is_not_a_removal():
    caps = Capabilities()
    with pytest.raises(ApiError):
        caps.attempt("top_tracks", lambda: (_ for _ in ()).throw(ApiError("top-tracks", 404)))
    assert caps.get("top_tracks") is None
    with pytest.raises(ApiError):  # an unknown playlist id says nothing about editorial playlists
        caps.attempt("editorial_playlists", lambda: (_ for _ in ()).throw(ApiError("playlist-items", 404)))
    assert caps.get("editorial_playlists") is None
    with pytest.raises(Unavailable):  # a 404 on an id known to exist (Global Top 50) is a removal
        caps.attempt("editorial_playlists", lambda: (_ for _ in ()).throw(ApiError("playlist-items", 404)),
                     known_id=True)
    assert caps.get("editorial_playlists") is False
