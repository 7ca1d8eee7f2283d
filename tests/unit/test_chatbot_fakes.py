"""An in-memory :class:`chatbot.service.Backend` and a tiny world for the chatbot's unit tests (no tests here).

The world: a few artists with names, Hangul aliases, related artists (with reasons) and top tracks, plus a
"Spotify" that knows more artists and tracks than the catalog (for search, song titles and new artists).
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from chatbot.resolve import NameIndex
from chatbot.service import SearchUnavailable
from sori.text import normalize

ARTISTS: dict[str, dict[str, Any]] = {
    "bts0000000000000000001": {"name": "BTS", "genres": ["k-pop"], "image_url": "https://img.example/bts.jpg"},
    "bpk0000000000000000002": {"name": "BLACKPINK", "genres": ["k-pop", "k-pop girl group"]},
    "shn0000000000000000003": {"name": "SHINee", "genres": ["k-pop"]},
    "twc0000000000000000004": {"name": "TWICE", "genres": ["k-pop"]},
    "rvt0000000000000000005": {"name": "Red Velvet", "genres": ["k-pop"]},
    "iu00000000000000000006": {"name": "IU", "genres": ["k-pop", "k-ballad"]},
    "itz0000000000000000007": {"name": "ITZY", "genres": ["k-pop"]},
    "mmm0000000000000000008": {"name": "Mamamoo", "genres": ["k-pop"]},
    "lov0000000000000000009": {"name": "Love", "genres": ["rock"]},
    "rna0000000000000000010": {"name": "Rain", "genres": ["k-pop"]},
    "rnb0000000000000000011": {"name": "Rain", "genres": ["rock"]},
    "gid0000000000000000012": {"name": "(G)I-DLE", "genres": ["k-pop"]},
    "sol0000000000000000013": {"name": "Solo Newcomer", "genres": []},  # known, never refreshed, no tracks
}
ALIASES = [("샤이니", "shn0000000000000000003"), ("방탄소년단", "bts0000000000000000001"),
           ("방탄", "bts0000000000000000001"), ("블랙핑크", "bpk0000000000000000002"),
           ("여자아이들", "gid0000000000000000012"), ("아이유", "iu00000000000000000006")]
BTS, BPK, SHN, TWC, RVT, IU, ITZ, MMM, LOVE = (
    "bts0000000000000000001", "bpk0000000000000000002", "shn0000000000000000003", "twc0000000000000000004",
    "rvt0000000000000000005", "iu00000000000000000006", "itz0000000000000000007", "mmm0000000000000000008",
    "lov0000000000000000009")
SOLO = "sol0000000000000000013"

RELATED = {
    BPK: [TWC, RVT, ITZ, MMM, BTS, SHN, IU],
    BTS: [SHN, BPK],
    SHN: [BTS, RVT, TWC, BPK, ITZ],
}

# "Spotify": artists the catalog does not have yet, and songs
NEW_ID = "nj00000000000000000099"
SPOTIFY_ARTISTS = {
    **{k: v["name"] for k, v in ARTISTS.items()},
    NEW_ID: "NewJeans",
    "xx00000000000000000098": "Newton Faulkner",
}
SPOTIFY_TRACKS = [
    ("trk01", "Dynamite", BTS), ("trk02", "Butter", BTS), ("trk03", "Hype Boy", NEW_ID), ("trk04", "Ditto", NEW_ID),
    ("trk05", "Attention", NEW_ID), ("trk06", "How You Like That", BPK), ("trk07", "Pink Venom", BPK),
]


def top_tracks_item(artist_id: str, i: int) -> dict:
    name = ARTISTS[artist_id]["name"]
    return {"artist_id": artist_id, "track_id": f"{artist_id[:3]}t{i}", "name": f"{name} song {i}",
            "album": f"{name} album", "album_image": f"https://img.example/{artist_id[:3]}/{i}.jpg",
            "url": f"https://open.spotify.com/track/{artist_id[:3]}t{i}", "rank": i}


class FakeBackend:
    """In-memory backend recording every write. ``delay`` slows every call (deadline tests); ``fail`` names
    methods that raise; ``search_unavailable`` makes search degrade like a 429."""

    def __init__(self, *, delay: float = 0.0, fail: Sequence[str] = (), search_unavailable: bool = False,
                 related: Mapping[str, list[str]] | None = None):
        self.artists = {k: {"id": k, **v, "refreshed_at": None if k == SOLO else "2026-11-01"}
                        for k, v in ARTISTS.items()}
        self.aliases = list(ALIASES)
        self.related_map = dict(RELATED if related is None else related)
        self.delay = delay
        self.fail = set(fail)
        self.search_unavailable = search_unavailable
        self.calls: list[tuple] = []
        self.inserted: list[dict] = []
        self.learned: list[tuple] = []
        self.refreshes: list[list[str]] = []
        self.lookups: list[list[str]] = []
        self._lock = threading.Lock()

    def _call(self, name: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, *args))
        if self.delay:
            time.sleep(self.delay)
        if name in self.fail:
            raise RuntimeError(f"{name} is down")

    def index(self) -> NameIndex:
        self._call("index")
        return NameIndex([(k, a["name"], normalize(a["name"])) for k, a in self.artists.items()], self.aliases)

    def artist(self, artist_id: str) -> dict | None:
        self._call("artist", artist_id)
        a = self.artists.get(artist_id)
        return dict(a) if a else None

    def related(self, artist_id: str, limit: int) -> list[dict]:
        self._call("related", artist_id)
        out = []
        for rank, rid in enumerate(self.related_map.get(artist_id, [])[:limit], 1):
            a = self.artists[rid]
            out.append({"related_id": rid, "rank": rank, "score": 0.9 - rank / 20, "name": a["name"],
                        "image_url": a.get("image_url"), "genres": a.get("genres"),
                        "reason": {"shared": ["Top 50 - Korea", "K-Pop Daebak"], "features": ["energy", "valence"]}})
        return out

    def top_tracks(self, artist_id: str, limit: int) -> list[dict]:
        self._call("top_tracks", artist_id)
        if artist_id not in ARTISTS or artist_id == SOLO:
            return []
        return [top_tracks_item(artist_id, i) for i in range(1, limit + 1)]

    def search(self, query: str, types: str, timeout: float) -> dict:
        self._call("search", query, types)
        if self.search_unavailable:
            raise SearchUnavailable("429")
        q = normalize(query.replace('artist:"', "").rstrip('"'))
        artists, tracks = [], []
        if q and "artist" in types:
            artists = [{"id": k, "name": n, "images": [], "genres": ["k-pop"], "popularity": 70}
                       for k, n in SPOTIFY_ARTISTS.items() if q in normalize(n)][:10]
        if q and "track" in types:
            for tid, name, aid in SPOTIFY_TRACKS:
                if q in normalize(name) or q in normalize(SPOTIFY_ARTISTS[aid]):
                    tracks.append({"id": tid, "name": name, "album": {"name": f"{name} - single", "images": []},
                                   "artists": [{"id": aid, "name": SPOTIFY_ARTISTS[aid]}],
                                   "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"}})
        return {"artists": artists, "tracks": tracks[:10]}

    def add_artist(self, artist: Mapping[str, Any]) -> None:
        self._call("add_artist", artist["id"])
        self.inserted.append(dict(artist))
        self.artists[artist["id"]] = {**artist, "refreshed_at": None}

    def add_alias(self, alias_norm: str, artist_id: str, source: str) -> bool:
        self._call("add_alias", alias_norm, artist_id)
        self.learned.append((alias_norm, artist_id, source))
        self.aliases.append((alias_norm, artist_id))
        return True

    def request_refresh(self, artist_ids: Sequence[str]) -> None:
        self._call("request_refresh", list(artist_ids))
        self.refreshes.append(list(artist_ids))

    def request_lookup(self, names: Sequence[str]) -> None:
        self._call("request_lookup", list(names))
        self.lookups.append(list(names))


def skill_payload(utterance: Any, *, lang: str | None = "ko", extra: Mapping | None = None) -> dict:
    """A Kakao skill payload as Open Builder sends it."""
    action: dict[str, Any] = {"id": "act1", "name": "sori", "params": {}, "detailParams": {}}
    if extra is not None:
        action["clientExtra"] = dict(extra)
    ur: dict[str, Any] = {"timezone": "Asia/Seoul", "params": {"ignoreMe": "true"},
                          "block": {"id": "blk1", "name": "fallback"}, "utterance": utterance,
                          "user": {"id": "u" * 20, "type": "botUserKey", "properties": {}}}
    if lang is not None:
        ur["lang"] = lang
    return {"bot": {"id": "bot1", "name": "sori"}, "intent": {"id": "int1", "name": "fallback", "extra": {}},
            "action": action, "userRequest": ur, "contexts": []}


@contextlib.contextmanager
def fake_webhook_backend(monkeypatch: Any, secret: str) -> Iterator[FakeBackend]:
    """The webhook (``chatbot.app``) answering with skill secret ``secret`` over a fresh :class:`FakeBackend`."""
    import chatbot.app as app_mod
    import chatbot.deps as deps
    from sori.settings import get_settings

    monkeypatch.setenv("SORI_SKILL_SECRET", secret)
    monkeypatch.delenv("SORI_SKILL_SECRET_ARN", raising=False)
    get_settings.cache_clear()
    app_mod._secret.cache_clear()
    b = FakeBackend()
    monkeypatch.setattr(deps, "_backend", b)
    try:
        yield b
    finally:
        get_settings.cache_clear()
        app_mod._secret.cache_clear()
