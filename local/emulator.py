"""Spotify Web API emulator (dev-only) and the compact catalog it serves.

Catalog
-------
``load_catalog(path=None) -> Catalog`` loads ``local/data/catalog.json.gz`` (built by ``local/data/build_catalog.py``
from the TidyTuesday 2020-01-21 Spotify sample, MIT; attribution in ``local/data/ATTRIBUTION.md``). The default
catalog is cached: repeated calls return the same object. ``Catalog`` gives plain dict lookups:

- ``artists[id] -> Artist(id, name, genres, popularity, followers)``
- ``tracks[id] -> Track(id, name, artist_id, popularity, album, duration_ms, features)``; ``features`` is the
  Spotify audio-features dict (``time_signature`` = 4), ``album`` an ``Album(id, name, release_date, image_url)``
- ``albums[id]``, ``playlists[id] -> Playlist(id, name, genre, subgenre, track_ids, labels)``
- ``tracks_by_artist[artist_id]`` (track ids, most popular first), ``playlists_by_artist[artist_id]``,
  ``playlists_by_track[track_id]``
- ``name_index[normalize(name)] -> (artist ids…)`` (display names and Hangul aliases); ``korean_names[artist_id]``
- helpers: ``find_artist(name)``, ``artists_named(name)``, ``top_tracks(id, n)``, ``related_artists(id, n)``,
  ``track_genres(track_id)``, ``search_artists(q)``, ``search_tracks(q)``, ``is_korean(artist_id)``

Emulator
--------
``SpotifyEmulator(mode="extended", port=0, catalog=None, host="127.0.0.1")``: ``start()`` (background thread, returns
self), ``stop()``, context manager, ``url`` (``http://127.0.0.1:PORT``), ``token_url``, ``api_prefix`` (for
``spotipy.Spotify.prefix``), ``reccobeats_url``, ``chart_csv_url(cc, date)``, settable ``mode``,
``configure(**config)`` / ``config()``, ``stats()`` / ``reset_stats()``, ``spotipy_client(user=False, **kw)``.
Command line: ``python -m local.emulator --port N --mode extended|development``.

HTTP surface (JSON shaped like the real Web API):
``POST /api/token`` (client_credentials, refresh_token, authorization_code); ``/v1/search``, ``/v1/artists/{id}``,
``/v1/artists?ids=``, ``/v1/artists/{id}/top-tracks``, ``/v1/artists/{id}/related-artists``,
``/v1/artists/{id}/albums``, ``/v1/albums/{id}``, ``/v1/albums?ids=``, ``/v1/tracks/{id}``, ``/v1/tracks?ids=``,
``/v1/audio-features?ids=``, ``/v1/audio-features/{id}``, ``/v1/recommendations``, ``/v1/playlists/{id}``,
``/v1/playlists/{id}/tracks``, ``/v1/playlists/{id}/items``, ``/v1/me``, ``/v1/me/playlists``,
``/v1/me/player/recently-played``, ``/v1/me/following``; ReccoBeats ``GET /reccobeats/v1/audio-features?ids=``;
charts.spotify.com stand-in ``GET /_emulator/charts/regional-<cc>-weekly-<YYYY-MM-DD>.csv``; control plane
``GET|POST /_emulator/config``, ``GET /_emulator/stats``, ``POST /_emulator/reset``.

/v1/me* need a *user* token (``grant_type=refresh_token`` with any non-empty refresh token, or
``authorization_code``); a client-credentials token there gets 401, as on the real service.

Config keys (``POST /_emulator/config`` JSON, any subset; the same keywords for ``configure``):
``mode`` (extended|development), ``latency_ms``, ``burst_429`` {count, retry_after, path_prefix},
``burst_5xx`` {count, status, path_prefix}, ``quota_exceeded`` (bool), ``rate_limit_per_30s`` (int|null),
``now_ms`` (int|null: freeze the emulator clock, used by recently-played and the weekly charts; null = real time).
Faults apply to ``/v1/*`` and ``/reccobeats/*`` (``path_prefix`` narrows a burst, default ``/``); quota and the
rolling-window rate limit apply to ``/v1/*`` only; the token endpoint and ``/_emulator/*`` are never faulted.
Counters are keyed by route template (``"GET /v1/artists/{id}/top-tracks"``), count every answer including
errors and injected faults, and exclude ``/_emulator/*``.
"""
from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import functools
import gzip
import hashlib
import io
import json
import math
import os
import re
import secrets
import threading
import time
import unicodedata
import uuid
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit

HERE = Path(__file__).resolve().parent
CATALOG_PATH = HERE / "data" / "catalog.json.gz"
KOREAN_NAMES_PATH = HERE / "data" / "korean_names.tsv"
CHARTS_PATH = HERE.parent / "sori" / "data" / "charts.csv"

FEATURE_KEYS = ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
                "instrumentalness", "liveness", "valence", "tempo")
EDITORIAL_PREFIX = "37i9dQZ"          # editorial / algorithmic playlists (Spotify-owned)
BASE62 = re.compile(r"^[0-9A-Za-z]{22}$")
MODES = ("extended", "development")


# ----------------------------------------------------------------------------------------------------------------
# text helpers
# ----------------------------------------------------------------------------------------------------------------

def normalize(text: str) -> str:
    """NFKC + casefold + collapsed whitespace: the key of ``Catalog.name_index``."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def compact(text: str) -> str:
    return "".join(tokens(text))


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha1("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _u(*parts: Any) -> float:
    """Deterministic uniform in [0, 1)."""
    return _h(*parts) / 2.0 ** 64


def _gauss(*parts: Any) -> float:
    """Deterministic standard normal (Box-Muller on two hashes)."""
    u1 = max(_u("a", *parts), 1e-12)
    u2 = _u("b", *parts)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


def album_image_url(album_id: str, size: int = 640) -> str:
    """Deterministic i.scdn.co-style cover URL (640, 300 or 64 px variants, as Spotify serves)."""
    prefix = {640: "ab67616d0000b273", 300: "ab67616d00001e02", 64: "ab67616d00004851"}[size]
    return "https://i.scdn.co/image/" + prefix + hashlib.sha1(("album:" + album_id).encode()).hexdigest()


def artist_image_url(artist_id: str, size: int = 640) -> str:
    prefix = {640: "ab6761610000e5eb", 320: "ab67616100005174", 160: "ab6761610000f178"}[size]
    return "https://i.scdn.co/image/" + prefix + hashlib.sha1(("artist:" + artist_id).encode()).hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# catalog
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int

    @property
    def image_url(self) -> str:
        return artist_image_url(self.id)


@dataclass(frozen=True, slots=True)
class Album:
    id: str
    name: str
    release_date: str

    @property
    def image_url(self) -> str:
        return album_image_url(self.id)

    @property
    def release_date_precision(self) -> str:
        return {4: "year", 7: "month"}.get(len(self.release_date), "day")


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    name: str
    artist_id: str
    popularity: int
    album: Album
    duration_ms: int
    features: dict = field(hash=False, compare=False)   # Spotify audio-features keys + time_signature


@dataclass(frozen=True, slots=True)
class Playlist:
    id: str
    name: str
    genre: str                 # playlist_genre: the quality label (edm, rap, pop, r&b, latin, rock)
    subgenre: str
    track_ids: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()   # every (genre, subgenre) label the data gives this playlist

    @property
    def editorial(self) -> bool:
        return self.id.startswith(EDITORIAL_PREFIX)


class Catalog:
    """The emulator's catalog. Read-only after construction; all lookups are dicts.

    Attributes: ``artists``, ``tracks``, ``albums``, ``playlists`` (by id), ``tracks_by_artist``,
    ``tracks_by_album``, ``playlists_by_artist``, ``playlists_by_track`` (ids, stable order), ``name_index``
    (normalized display name or Hangul alias -> artist ids, most popular first), ``korean_names`` (artist id ->
    Hangul names), ``attribution``.
    """

    def __init__(self, data: dict, korean_names_path: Path | str | None = KOREAN_NAMES_PATH):
        self.attribution: str = data.get("attribution", "")
        feats = data["features"]
        self.artists: dict[str, Artist] = {}
        artist_ids = []
        for aid, name, genres, pop, followers in data["artists"]:
            self.artists[aid] = Artist(aid, name, tuple(genres), pop, followers)
            artist_ids.append(aid)
        albums = [Album(a, n, d) for a, n, d in data["albums"]]
        self.albums: dict[str, Album] = {a.id: a for a in albums}
        self.tracks: dict[str, Track] = {}
        track_ids = []
        for tid, name, ai, pop, bi, dur, fv in data["tracks"]:
            f = dict(zip(feats, fv))
            f["time_signature"] = 4
            self.tracks[tid] = Track(tid, name, artist_ids[ai], pop, albums[bi], dur, f)
            track_ids.append(tid)
        self.playlists: dict[str, Playlist] = {}
        for row in data["playlists"]:
            pid, name, genre, sub, idx = row[:5]
            labels = tuple(tuple(x) for x in row[5]) if len(row) > 5 else ((genre, sub),)
            self.playlists[pid] = Playlist(pid, name, genre, sub, tuple(track_ids[i] for i in idx), labels)

        by_artist: dict[str, list[str]] = defaultdict(list)
        by_album: dict[str, list[str]] = defaultdict(list)
        for t in self.tracks.values():
            by_artist[t.artist_id].append(t.id)
            by_album[t.album.id].append(t.id)
        pop_key = lambda tid: (-self.tracks[tid].popularity, self.tracks[tid].name, tid)  # noqa: E731
        self.tracks_by_artist: dict[str, tuple[str, ...]] = {a: tuple(sorted(v, key=pop_key))
                                                              for a, v in by_artist.items()}
        self.tracks_by_album: dict[str, tuple[str, ...]] = {a: tuple(sorted(v)) for a, v in by_album.items()}
        pl_by_artist: dict[str, list[str]] = defaultdict(list)
        pl_by_track: dict[str, list[str]] = defaultdict(list)
        self._track_genres: dict[str, set] = defaultdict(set)
        for p in self.playlists.values():
            seen = set()
            for tid in p.track_ids:
                pl_by_track[tid].append(p.id)
                for g, _ in p.labels:
                    self._track_genres[tid].add(g)
                a = self.tracks[tid].artist_id
                if a not in seen:
                    seen.add(a)
                    pl_by_artist[a].append(p.id)
        self.playlists_by_artist: dict[str, tuple[str, ...]] = {a: tuple(v) for a, v in pl_by_artist.items()}
        self.playlists_by_track: dict[str, tuple[str, ...]] = {t: tuple(v) for t, v in pl_by_track.items()}

        # names, Hangul aliases and search indexes
        self.korean_names: dict[str, tuple[str, ...]] = {}
        if korean_names_path and Path(korean_names_path).exists():
            kn: dict[str, list[str]] = defaultdict(list)
            by_name = {a.name: a.id for a in self.artists.values()}
            with open(korean_names_path, encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip() or line.startswith("#"):
                        continue
                    name, hangul = line.rstrip("\n").split("\t")[:2]
                    if name in by_name:
                        kn[by_name[name]].append(hangul.strip())
            self.korean_names = {a: tuple(v) for a, v in kn.items()}
        name_index: dict[str, list[str]] = defaultdict(list)
        self._artist_tokens: dict[str, set[str]] = {}
        self._artist_compacts: dict[str, set[str]] = {}
        artist_tok_index: dict[str, set[str]] = defaultdict(set)
        for a in self.artists.values():
            names = (a.name,) + self.korean_names.get(a.id, ())
            toks: set[str] = set()
            comps: set[str] = set()
            for n in names:
                name_index[normalize(n)].append(a.id)
                toks.update(tokens(n))
                c = compact(n)
                if c:
                    comps.add(c)
            toks |= comps
            self._artist_tokens[a.id] = toks
            self._artist_compacts[a.id] = comps
            for tk in toks:
                artist_tok_index[tk].add(a.id)
        self.name_index: dict[str, tuple[str, ...]] = {
            k: tuple(sorted(v, key=lambda i: (-self.artists[i].popularity, i))) for k, v in name_index.items()}
        self._artist_tok_index = dict(artist_tok_index)
        self._artist_vocab = sorted(artist_tok_index)
        track_tok_index: dict[str, set[str]] = defaultdict(set)
        self._track_tokens: dict[str, set[str]] = {}
        for t in self.tracks.values():
            toks = set(tokens(t.name))
            self._track_tokens[t.id] = toks
            for tk in toks:
                track_tok_index[tk].add(t.id)
        self._track_tok_index = dict(track_tok_index)
        self._track_vocab = sorted(track_tok_index)
        self._related_cache: dict[tuple[str, int], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    # -- simple lookups ------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return (f"<Catalog artists={len(self.artists)} tracks={len(self.tracks)} albums={len(self.albums)} "
                f"playlists={len(self.playlists)}>")

    def artist(self, artist_id: str) -> Artist | None:
        return self.artists.get(artist_id)

    def track(self, track_id: str) -> Track | None:
        return self.tracks.get(track_id)

    def artist_of(self, track: Track | str) -> Artist:
        t = self.tracks[track] if isinstance(track, str) else track
        return self.artists[t.artist_id]

    def artists_named(self, name: str) -> list[Artist]:
        """Artists whose display name or Hangul alias equals ``name`` after ``normalize`` (most popular first)."""
        return [self.artists[i] for i in self.name_index.get(normalize(name), ())]

    def find_artist(self, name: str) -> Artist | None:
        """The most popular artist with exactly this (normalized) display name or Hangul alias, else None."""
        found = self.artists_named(name)
        return found[0] if found else None

    def is_korean(self, artist_id: str) -> bool:
        """True for the K-pop / Korean acts listed in ``local/data/korean_names.tsv``."""
        return artist_id in self.korean_names

    def top_tracks(self, artist_id: str, n: int = 10) -> list[Track]:
        return [self.tracks[t] for t in self.tracks_by_artist.get(artist_id, ())[:n]]

    def track_genres(self, track_id: str) -> frozenset[str]:
        """Playlist genres (edm, rap, pop, r&b, latin, rock) of the playlists this track appears in."""
        return frozenset(self._track_genres.get(track_id, ()))

    # -- related artists -----------------------------------------------------------------------------------------
    def related_artists(self, artist_id: str, n: int = 20) -> list[Artist]:
        """Up to ``n`` artists related by shared playlists (co-occurrence, damped for ubiquitous artists and big
        playlists), topped up with same-genre artists by popularity. Deterministic."""
        key = (artist_id, n)
        with self._lock:
            hit = self._related_cache.get(key)
        if hit is None:
            hit = self._compute_related(artist_id, n)
            with self._lock:
                self._related_cache[key] = hit
        return [self.artists[i] for i in hit]

    def _compute_related(self, artist_id: str, n: int) -> tuple[str, ...]:
        me = self.artists.get(artist_id)
        if me is None:
            return ()
        scores: Counter = Counter()
        for pid in self.playlists_by_artist.get(artist_id, ()):
            p = self.playlists[pid]
            members = {self.tracks[t].artist_id for t in p.track_ids}
            w = 1.0 / math.log2(2 + len(members))
            for b in members:
                if b != artist_id:
                    scores[b] += w
        my_genres = set(me.genres)
        ranked = []
        for b, s in scores.items():
            other = self.artists[b]
            damp = math.sqrt(len(self.playlists_by_artist.get(b, ())) or 1)
            bonus = 0.15 * len(my_genres & set(other.genres))
            if self.is_korean(artist_id) and self.is_korean(b):
                bonus += 0.5
            ranked.append((-(s / damp + bonus), -other.popularity, b))
        ranked.sort()
        out = [b for _, _, b in ranked[:n]]
        if len(out) < n and me.genres:
            have = set(out) | {artist_id}
            primary = me.genres[0]
            fill = sorted((a for a in self.artists.values() if a.id not in have and primary in a.genres),
                          key=lambda a: (-a.popularity, a.id))
            out += [a.id for a in fill[: n - len(out)]]
        return tuple(out)

    # -- search --------------------------------------------------------------------------------------------------
    @staticmethod
    def _expand(tok: str, index: dict[str, set[str]], vocab: list[str]) -> set[str]:
        """Ids whose token equals ``tok`` or (for tokens of 3+ chars) starts with it."""
        if len(tok) < 3:
            return set(index.get(tok, ()))
        out: set[str] = set()
        i = bisect_left(vocab, tok)
        while i < len(vocab) and vocab[i].startswith(tok):
            out |= index[vocab[i]]
            i += 1
        return out

    def _artists_matching(self, text: str, exact_tokens: bool = False) -> set[str] | None:
        toks = tokens(text)
        if not toks:
            return None
        result: set[str] | None = None
        for tk in toks:
            ids = (set(self._artist_tok_index.get(tk, ())) if exact_tokens
                   else self._expand(tk, self._artist_tok_index, self._artist_vocab))
            result = ids if result is None else result & ids
            if not result:
                return set()
        return result

    def search_artists(self, query: str) -> list[Artist]:
        """Artists matching a Spotify-style query (free text; ``artist:``/``genre:`` filters), best first."""
        q = parse_query(query)
        free = " ".join(q["free"] + q.get("artist", []))
        cands = self._artists_matching(free) if free.strip() else None
        if cands is None:
            cands = set(self.artists) if q.get("genre") else set()
        for g in q.get("genre", []):
            gn = normalize(g)
            cands = {a for a in cands if gn in self.artists[a].genres}
        fn, fc, ftoks = normalize(free), compact(free), set(tokens(free))
        ranked = []
        for a in cands:
            art = self.artists[a]
            names = {normalize(art.name)} | {normalize(k) for k in self.korean_names.get(a, ())}
            if fn and (fn in names or (fc and fc in self._artist_compacts[a])):
                r = 3
            elif ftoks and ftoks <= self._artist_tokens[a]:
                r = 2
            else:
                r = 1
            ranked.append((-r, -art.popularity, art.name, a))
        ranked.sort()
        return [self.artists[a] for *_, a in ranked]

    def search_tracks(self, query: str) -> list[Track]:
        """Tracks matching a Spotify-style query: free text over track and artist names (Hangul aliases too);
        ``artist:"NAME"``, ``track:"NAME"``, ``year:YYYY[-YYYY]``, ``genre:`` filters. Best first."""
        q = parse_query(query)
        cands: set[str] | None = None

        def narrow(ids: set[str]):
            nonlocal cands
            cands = ids if cands is None else cands & ids

        for tk in tokens(" ".join(q["free"])):
            by_name = self._expand(tk, self._track_tok_index, self._track_vocab)
            by_artist = set()
            for a in self._expand(tk, self._artist_tok_index, self._artist_vocab):
                by_artist.update(self.tracks_by_artist.get(a, ()))
            narrow(by_name | by_artist)
        for name in q.get("artist", []):
            ids = set()
            for a in self._artist_filter(name):
                ids.update(self.tracks_by_artist.get(a, ()))
            narrow(ids)
        for name in q.get("track", []):
            ids = None
            for tk in tokens(name):
                s = self._expand(tk, self._track_tok_index, self._track_vocab)
                ids = s if ids is None else ids & s
            narrow(ids or set())
        if cands is None:
            return []
        for y in q.get("year", []):
            m = re.match(r"^(\d{4})(?:-(\d{4}))?$", y)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
                cands = {t for t in cands if lo <= int(self.tracks[t].album.release_date[:4]) <= hi}
        for g in q.get("genre", []):
            gn = normalize(g)
            cands = {t for t in cands if gn in self.artists[self.tracks[t].artist_id].genres}
        free = " ".join(q["free"])
        fn, ftoks = normalize(free), set(tokens(free))
        ranked = []
        for tid in cands:
            t = self.tracks[tid]
            a = self.artists[t.artist_id]
            if fn and normalize(t.name) == fn:
                r = 4
            elif fn and (normalize(a.name) == fn or fn in {normalize(k) for k in self.korean_names.get(a.id, ())}):
                r = 3
            elif ftoks and ftoks <= self._track_tokens[tid]:
                r = 2
            else:
                r = 1
            ranked.append((-r, -t.popularity, t.name, tid))
        ranked.sort()
        return [self.tracks[t] for *_, t in ranked]

    def _artist_filter(self, name: str) -> set[str]:
        """``artist:NAME`` semantics: every token of NAME is a token of the artist's name (or alias), or the
        compacted name/alias equals NAME compacted."""
        exact = set(self.name_index.get(normalize(name), ()))
        toks = self._artists_matching(name, exact_tokens=True) or set()
        c = compact(name)
        by_compact = set(self._artist_tok_index.get(c, ())) if c else set()
        return exact | toks | {a for a in by_compact if c in self._artist_compacts[a]}


_FILTER = re.compile(r'(artist|track|album|genre|year|isrc|tag):(?:"([^"]*)"|(\S+))', re.I)


def parse_query(q: str) -> dict[str, list[str]]:
    """Split a Spotify search query into ``{"free": [...], "artist": [...], "track": [...], ...}``."""
    out: dict[str, list[str]] = defaultdict(list)

    def grab(m: re.Match) -> str:
        out[m.group(1).lower()].append(m.group(2) if m.group(2) is not None else m.group(3))
        return " "

    rest = _FILTER.sub(grab, q or "")
    out["free"] = [w for w in rest.replace('"', " ").split() if w.upper() not in ("AND", "OR", "NOT")]
    return out


_CATALOG_CACHE: dict[str, Catalog] = {}
_CATALOG_LOCK = threading.Lock()


def load_catalog(path: str | os.PathLike | None = None) -> Catalog:
    """Load (and cache per path) the emulator catalog; ``path`` defaults to ``local/data/catalog.json.gz``."""
    p = str(Path(path) if path else CATALOG_PATH)
    with _CATALOG_LOCK:
        cat = _CATALOG_CACHE.get(p)
        if cat is None:
            with gzip.open(p, "rt", encoding="utf-8") as fh:
                cat = Catalog(json.load(fh))
            _CATALOG_CACHE[p] = cat
        return cat


# ----------------------------------------------------------------------------------------------------------------
# charts: deterministic weekly country charts with country tastes and a seasonal drift
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartDef:
    chart_id: str
    country: str
    name: str
    hemisphere: str
    top50_playlist_id: str


def load_chart_defs(path: Path | str = CHARTS_PATH) -> dict[str, ChartDef]:
    """``sori/data/charts.csv`` keyed by country code (``global`` included)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["country"]: ChartDef(r["chart_id"], r["country"], r["name"], r["hemisphere"],
                                       r["top50_playlist_id"]) for r in csv.DictReader(fh)}


_LATIN = {"ar", "bo", "cl", "co", "cr", "do", "ec", "sv", "gt", "hn", "mx", "ni", "pa", "py", "pe"}
_ASIA_KPOP = {"jp", "tw", "hk", "th", "ph", "id", "my", "sg"}
_NORTH_EU = {"dk", "fi", "is", "no", "se", "nl", "ee", "lv", "lt", "de", "at", "ch", "be", "pl", "cz"}
_DEFAULT_TASTE = {"pop": 1.0, "rap": 0.5, "r&b": 0.4, "edm": 0.5, "latin": 0.3, "rock": 0.3}


def country_taste(cc: str) -> tuple[dict[str, float], float]:
    """(genre weights, K-pop bonus) for a country code."""
    t = dict(_DEFAULT_TASTE)
    kpop = 0.0
    if cc in _LATIN:
        t.update(latin=2.0, pop=0.6, rap=0.4, edm=0.2, rock=0.1, **{"r&b": 0.2})
    elif cc in ("es",):
        t.update(latin=1.6, pop=0.8, edm=0.4)
    elif cc in ("br", "pt"):
        t.update(latin=1.1, pop=0.9, rap=0.6)
    elif cc == "kr":
        t.update(pop=1.1, edm=0.3, rap=0.4, latin=0.0, rock=0.1, **{"r&b": 0.5})
        kpop = 2.6
    elif cc in _ASIA_KPOP:
        t.update(pop=1.2, latin=0.1)
        kpop = 1.2
    elif cc in ("us", "ca"):
        t.update(rap=1.6, pop=1.1, latin=0.3, edm=0.3, **{"r&b": 1.1})
    elif cc in _NORTH_EU:
        t.update(edm=1.5, pop=1.2, rap=0.6, latin=0.2)
    elif cc in ("fr", "it", "ma", "eg", "sa", "il", "tr"):
        t.update(rap=1.3, pop=0.9, latin=0.3)
    elif cc in ("au", "nz", "ie", "za", "ng"):
        t.update(pop=1.2, edm=0.8, rap=0.8)
    elif cc == "in":
        t.update(pop=1.3, edm=0.6, rock=0.2)
    elif cc == "global":
        t.update(pop=1.1, rap=0.8, latin=0.8, edm=0.6, **{"r&b": 0.6})
        kpop = 0.4
    return t, kpop


_LABELS = ("Columbia", "Atlantic Records", "Republic Records", "Interscope Records", "RCA Records Label",
           "Island Records", "Def Jam Recordings", "Warner Records", "Capitol Records", "Epic",
           "Spinnin' Records",
           "Ultra Records, LLC", "Big Beat Records", "XL Recordings", "Polydor Records", "Parlophone UK")
_LATIN_LABELS = ("Sony Music Latin", "Universal Music Latino", "Rimas Entertainment LLC", "WK Records",
                 "Warner Music Latina")
_K_LABELS = ("Stone Music Entertainment", "Genie Music", "Kakao Entertainment", "Dreamus")
_KNOWN_LABELS = {"BTS": "Big Hit Entertainment", "j-hope": "Big Hit Entertainment",
                 "TOMORROW X TOGETHER": "Big Hit Entertainment", "BLACKPINK": "YG Entertainment",
                 "WINNER": "YG Entertainment", "iKON": "YG Entertainment", "TWICE": "JYP Entertainment",
                 "ITZY": "JYP Entertainment", "GOT7": "JYP Entertainment", "Stray Kids": "JYP Entertainment",
                 "Red Velvet": "SM Entertainment", "SHINee": "SM Entertainment", "NCT 127": "SM Entertainment",
                 "NCT": "SM Entertainment", "TAEYEON": "SM Entertainment", "SuperM": "SM Entertainment",
                 "TAEMIN": "SM Entertainment", "BoA": "SM Entertainment", "f(x)": "SM Entertainment",
                 "EXO-K": "SM Entertainment"}


def _label_for(cat: "Catalog", a: "Artist", t: "Track") -> str:
    if a.name in _KNOWN_LABELS:
        return _KNOWN_LABELS[a.name]
    if cat.is_korean(a.id):
        labels = _K_LABELS
    elif cat.track_genres(t.id) == {"latin"}:
        labels = _LATIN_LABELS
    else:
        labels = _LABELS
    return labels[_h("label", a.id) % len(labels)]
_SCALE = {"global": 60_000_000, "us": 14_000_000, "br": 5_000_000, "mx": 5_000_000, "de": 4_500_000,
          "gb": 5_000_000, "es": 3_000_000, "fr": 2_800_000, "it": 2_500_000, "ca": 2_400_000, "au": 1_800_000,
          "jp": 1_500_000, "nl": 1_500_000, "ar": 1_700_000, "kr": 900_000, "in": 2_000_000, "ph": 1_500_000}


class Charts:
    """Deterministic weekly charts per country (seeded by country + ISO week)."""

    POOL = 1500

    def __init__(self, catalog: Catalog, defs: dict[str, ChartDef] | None = None):
        self.catalog = catalog
        self.defs = defs if defs is not None else load_chart_defs()
        self.by_playlist = {d.top50_playlist_id: d for d in self.defs.values()}
        self._pool: dict[str, list[tuple[float, str]]] = {}
        self._weeks: dict[tuple[str, int], list[str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def week_index(day: dt.date) -> int:
        """Monotone week number (Monday-based weeks since 1970-01-05)."""
        return (day - dt.date(1970, 1, 5)).days // 7

    @staticmethod
    def _week_monday(w: int) -> dt.date:
        return dt.date(1970, 1, 5) + dt.timedelta(days=7 * w)

    def _base_pool(self, cc: str) -> list[tuple[float, str]]:
        with self._lock:
            if cc in self._pool:
                return self._pool[cc]
        cat = self.catalog
        taste, kpop = country_taste(cc)
        scored = []
        main_genre = {}
        for aid, pls in cat.playlists_by_artist.items():
            main_genre[aid] = Counter(cat.playlists[p].genre for p in pls).most_common(1)[0][0]
        for t in cat.tracks.values():
            pls = cat.playlists_by_track.get(t.id, ())
            mean = sum(taste.get(cat.playlists[p].genre, 0.0) for p in pls) / max(1, len(pls))
            g = 0.5 * mean + 0.5 * taste.get(main_genre.get(t.artist_id, "pop"), 0.0)
            k = kpop if cat.is_korean(t.artist_id) else 0.0
            s = 0.045 * t.popularity + g + k + 0.6 * _gauss("base", cc, t.id)
            scored.append((s, t.id))
        scored.sort(reverse=True)
        pool = scored[: self.POOL]
        with self._lock:
            self._pool[cc] = pool
        return pool

    def ranking(self, cc: str, week: int, n: int = 200) -> list[str]:
        """Track ids ranked 1..n for ``cc`` in week ``week`` (see ``week_index``); at most 5 tracks per artist."""
        key = (cc, week)
        with self._lock:
            hit = self._weeks.get(key)
        if hit is not None and len(hit) >= n:
            return hit[:n]
        hemi = self.defs[cc].hemisphere if cc in self.defs else "north"
        monday = self._week_monday(week)
        iso_week = monday.isocalendar()[1]
        season = math.cos(2 * math.pi * (iso_week - 29) / 52.0)   # +1 mid-July (northern summer)
        season = {"north": season, "south": -season}.get(hemi, 0.3 * season)
        cat = self.catalog
        scored = []
        for base, tid in self._base_pool(cc):
            f = cat.tracks[tid].features
            mood = (f["valence"] - 0.5) + (f["energy"] - 0.65)
            s = (base + 0.45 * season * mood + 0.12 * _gauss("wk", cc, tid, week)
                 + 0.25 * _gauss("month", cc, tid, week // 5) + 0.35 * _gauss("qtr", cc, tid, week // 13))
            scored.append((s, tid))
        scored.sort(reverse=True)
        out, per_artist = [], Counter()
        for _, tid in scored:
            a = cat.tracks[tid].artist_id
            if per_artist[a] >= 5:
                continue
            per_artist[a] += 1
            out.append(tid)
            if len(out) >= max(n, 200):
                break
        with self._lock:
            self._weeks[key] = out
            if len(self._weeks) > 4096:
                self._weeks.clear()
        return out[:n]

    def top50(self, cc: str, day: dt.date) -> list[str]:
        return self.ranking(cc, self.week_index(day), 50)

    def featured_artists(self, track: Track) -> list[str]:
        """Catalog artists named in "(feat. X)" / "(with X)" parts of the title (CSV export only)."""
        m = re.search(r"[\(\[]\s*(?:feat\.?|ft\.?|with)\s+([^\)\]]+)[\)\]]", track.name, re.I)
        if not m:
            return []
        out = []
        for part in re.split(r",|&| and | x ", m.group(1)):
            a = self.catalog.find_artist(part.strip())
            if a and a.id != track.artist_id and a.name not in out:
                out.append(a.name)
        return out

    def weekly_csv(self, cc: str, day: dt.date, quote_streams: bool = True) -> str:
        """charts.spotify.com-style weekly CSV (UTF-8 BOM, CRLF, 200 rows; strings and streams quoted)."""
        cat = self.catalog
        week = self.week_index(day)
        rows = self.ranking(cc, week, 200)
        history = [{tid: i + 1 for i, tid in enumerate(self.ranking(cc, week - k, 200))} for k in range(1, 27)]
        scale = _SCALE.get(cc, 250_000 + _h("scale", cc) % 700_000)
        streams = sorted((int(scale * (r ** -0.55) * (1 + 0.04 * _gauss("streams", cc, week, r)))
                          for r in range(1, 201)), reverse=True)
        buf = io.StringIO()
        buf.write("\ufeff")
        buf.write("rank,uri,artist_names,track_name,source,peak_rank,previous_rank,weeks_on_chart,streams\r\n")
        q = lambda s: '"' + str(s).replace('"', '""') + '"'  # noqa: E731
        for i, tid in enumerate(rows):
            rank = i + 1
            t = cat.tracks[tid]
            a = cat.artists[t.artist_id]
            names = ", ".join([a.name] + self.featured_artists(t))
            source = _label_for(cat, a, t)
            past = [h[tid] for h in history if tid in h]
            prev = history[0].get(tid, -1)
            weeks_on = 1 + len(past)
            peak = min([rank] + past)
            st = str(streams[i])
            buf.write(",".join([str(rank), q("spotify:track:" + tid), q(names), q(t.name), q(source), str(peak),
                                str(prev), str(weeks_on), q(st) if quote_streams else st]) + "\r\n")
        return buf.getvalue()


# ----------------------------------------------------------------------------------------------------------------
# the listening user (synthetic, deterministic)
# ----------------------------------------------------------------------------------------------------------------

USER_ID = "sori-listener"
SLOT_MS = 2 * 3600 * 1000
HISTORY = 50              # Spotify keeps only the 50 most recent plays


class Listener:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        cat = catalog
        own = []
        pool = sorted((p for p in cat.playlists.values() if not p.editorial), key=lambda p: _h("own", p.id))
        for genre in ("pop", "rap", "r&b", "latin", "edm"):
            own.append(next(p.id for p in pool if p.genre == genre))
        kpop_pl = [p.id for p in pool if any(cat.is_korean(cat.tracks[t].artist_id) for t in p.track_ids)]
        if kpop_pl and kpop_pl[0] not in own:
            own.append(kpop_pl[0])
        self.playlist_ids: tuple[str, ...] = tuple(own)
        korean = sorted(cat.korean_names, key=lambda a: (-cat.artists[a].popularity, a))[:12]
        counts: Counter = Counter()
        for pid in own:
            for t in cat.playlists[pid].track_ids:
                counts[cat.tracks[t].artist_id] += 1
        others = [a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], -cat.artists[kv[0]].popularity,
                                                                       kv[0])) if a not in korean]
        self.followed: tuple[str, ...] = tuple(sorted(korean + others[: 40 - len(korean)]))

    def session(self, k: int) -> list[tuple[int, str, tuple[str, str] | None]]:
        """Plays of session slot ``k`` as (played_at_ms, track_id, (context_type, context_id) | None)."""
        start = k * SLOT_MS + int(_u("jitter", k) * 3600 * 1000)
        kst_hour = ((start // 3_600_000) + 9) % 24
        if 2 <= kst_hour < 8 or _h("skip", k) % 7 == 0:
            return []
        cat = self.catalog
        n = 3 + _h("n", k) % 6
        r = _u("src", k)
        if r < 0.5:
            pid = self.playlist_ids[_h("pl", k) % len(self.playlist_ids)]
            src, ctx = cat.playlists[pid].track_ids, ("playlist", pid)
        elif r < 0.85:
            aid = self.followed[_h("ar", k) % len(self.followed)]
            src, ctx = cat.tracks_by_artist[aid][:10], ("artist", aid)
        else:
            aid = self.followed[_h("al", k) % len(self.followed)]
            alb = cat.tracks[cat.tracks_by_artist[aid][0]].album.id
            src, ctx = cat.tracks_by_album[alb], ("album", alb)
        off = _h("off", k) % len(src)
        plays, t = [], start
        for i in range(n):
            tid = src[(off + i) % len(src)]
            t += cat.tracks[tid].duration_ms + int(_u("gap", k, i) * 20_000)
            plays.append((t, tid, ctx))
        return plays

    def history(self, now_ms: int) -> list[tuple[int, str, tuple[str, str] | None]]:
        """The ``HISTORY`` most recent plays at ``now_ms``, newest first."""
        out = []
        k = now_ms // SLOT_MS
        while len(out) < HISTORY and k > now_ms // SLOT_MS - 400:
            for p in reversed(self.session(k)):
                if p[0] <= now_ms:
                    out.append(p)
            k -= 1
        return out[:HISTORY]


# ----------------------------------------------------------------------------------------------------------------
# HTTP server
# ----------------------------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, message: str, reason: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.reason, self.headers = status, message, reason, headers or {}

    def body(self) -> dict:
        err = {"status": self.status, "message": self.message}
        if self.reason:
            err["reason"] = self.reason
        return {"error": err}


class _Raw:
    """A non-JSON response."""

    def __init__(self, body: bytes, content_type: str, status: int = 200, headers: dict | None = None):
        self.body, self.content_type, self.status, self.headers = body, content_type, status, headers or {}


def _default_config() -> dict:
    return {"mode": "extended", "latency_ms": 0,
            "burst_429": {"count": 0, "retry_after": 1, "path_prefix": "/"},
            "burst_5xx": {"count": 0, "status": 503, "path_prefix": "/"},
            "quota_exceeded": False, "rate_limit_per_30s": None, "now_ms": None}


class SpotifyEmulator:
    """The Spotify Web API emulator. See the module docstring for endpoints and config keys."""

    def __init__(self, mode: str = "extended", port: int = 0, catalog: Catalog | None = None,
                 host: str = "127.0.0.1"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.catalog = catalog or load_catalog()
        self.host, self._port = host, port
        self._cfg = _default_config()
        self._cfg["mode"] = mode
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._window: list[float] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.charts = Charts(self.catalog)
        self.listener = Listener(self.catalog)
        self._routes = self._build_routes()

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> "SpotifyEmulator":
        if self._server is not None:
            return self
        emu = self

        class Handler(_Handler):
            emulator = emu

        self._server = ThreadingHTTPServer((self.host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="spotify-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "SpotifyEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.url + "/api/token"

    @property
    def api_prefix(self) -> str:
        return self.url + "/v1/"

    @property
    def reccobeats_url(self) -> str:
        return self.url + "/reccobeats/v1"

    def chart_csv_url(self, country: str, date: dt.date | str) -> str:
        return f"{self.url}/_emulator/charts/regional-{country}-weekly-{date}.csv"

    # -- config, counters ----------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._cfg["mode"]

    @mode.setter
    def mode(self, value: str) -> None:
        self.configure(mode=value)

    def config(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._cfg))

    def configure(self, **changes) -> dict:
        """Change any subset of the config keys (see module docstring); returns the new config."""
        with self._lock:
            for k, v in changes.items():
                if k not in self._cfg:
                    raise ValueError(f"unknown config key {k!r}")
                if k == "mode" and v not in MODES:
                    raise ValueError(f"mode must be one of {MODES}")
                if k in ("burst_429", "burst_5xx"):
                    defaults = ({"count": 0, "retry_after": 1, "path_prefix": "/"} if k == "burst_429"
                                else {"count": 0, "status": 503, "path_prefix": "/"})
                    self._cfg[k] = {**defaults, **(v or {})}
                elif k == "rate_limit_per_30s":
                    self._cfg[k] = None if v is None else int(v)
                    self._window = []
                elif k == "now_ms":
                    self._cfg[k] = None if v is None else int(v)
                elif k == "latency_ms":
                    self._cfg[k] = int(v or 0)
                elif k == "quota_exceeded":
                    self._cfg[k] = bool(v)
                else:
                    self._cfg[k] = v
            return json.loads(json.dumps(self._cfg))

    def stats(self) -> dict:
        with self._lock:
            return {"requests": dict(self._counts), "total": sum(self._counts.values())}

    def reset_stats(self) -> None:
        with self._lock:
            self._counts.clear()

    def now_ms(self) -> int:
        n = self._cfg["now_ms"]
        return int(time.time() * 1000) if n is None else n

    # -- spotipy convenience -------------------------------------------------------------------------------------
    def spotipy_client(self, user: bool = False, client_id: str = "sori-local", client_secret: str = "sori-secret",
                       **spotify_kwargs):
        """A ``spotipy.Spotify`` pointed at this emulator (client credentials, or the listening user's refresh
        token flow when ``user=True``). Extra keywords go to ``spotipy.Spotify`` (e.g. ``retries=0``)."""
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

        if user:
            class _OAuth(SpotifyOAuth):
                OAUTH_TOKEN_URL = self.token_url
            scope = "user-read-recently-played user-follow-read playlist-read-private"
            cache = MemoryCacheHandler(token_info={"access_token": "expired", "token_type": "Bearer",
                                                   "expires_at": 0, "refresh_token": "sori-listener-seed",
                                                   "scope": scope})
            auth = _OAuth(client_id=client_id, client_secret=client_secret, redirect_uri="http://127.0.0.1/cb",
                          scope=scope, cache_handler=cache, open_browser=False)
        else:
            class _CC(SpotifyClientCredentials):
                OAUTH_TOKEN_URL = self.token_url
            auth = _CC(client_id=client_id, client_secret=client_secret, cache_handler=MemoryCacheHandler())
        sp = spotipy.Spotify(auth_manager=auth, **spotify_kwargs)
        sp.prefix = self.api_prefix
        return sp

    # -- request processing --------------------------------------------------------------------------------------
    def _build_routes(self):
        r = [
            ("POST", "/api/token", self._token),
            ("GET", "/v1/search", self._search),
            ("GET", "/v1/artists", self._artists),
            ("GET", "/v1/artists/{id}", self._artist),
            ("GET", "/v1/artists/{id}/top-tracks", self._top_tracks),
            ("GET", "/v1/artists/{id}/related-artists", self._related),
            ("GET", "/v1/artists/{id}/albums", self._artist_albums),
            ("GET", "/v1/albums", self._albums),
            ("GET", "/v1/albums/{id}", self._album),
            ("GET", "/v1/tracks", self._tracks),
            ("GET", "/v1/tracks/{id}", self._track),
            ("GET", "/v1/audio-features", self._features_many),
            ("GET", "/v1/audio-features/{id}", self._features_one),
            ("GET", "/v1/recommendations", self._recommendations),
            ("GET", "/v1/playlists/{id}", self._playlist),
            ("GET", "/v1/playlists/{id}/tracks", self._playlist_tracks),
            ("GET", "/v1/playlists/{id}/items", self._playlist_items),
            ("GET", "/v1/me", self._me),
            ("GET", "/v1/me/playlists", self._my_playlists),
            ("GET", "/v1/me/player/recently-played", self._recently_played),
            ("GET", "/v1/me/following", self._following),
            ("GET", "/reccobeats/v1/audio-features", self._reccobeats),
        ]
        out = []
        for method, tmpl, fn in r:
            rx = re.compile("^" + re.escape(tmpl).replace(re.escape("{id}"), "([^/]+)") + "$")
            out.append((method, tmpl, rx, fn))
        return out

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, dict, Any]:
        """Process one request; returns (status, extra headers, JSON-able body or _Raw)."""
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith("/_emulator/"):
            return self._control(method, path, body)
        route, args = None, ()
        for m, tmpl, rx, fn in self._routes:
            mt = rx.match(path)
            if mt:
                if m != method:
                    route = route or (tmpl, None)
                    continue
                route, args = (tmpl, fn), mt.groups()
                break
        key = f"{method} {route[0]}" if route else f"{method} (unknown)"
        with self._lock:
            self._counts[key] += 1
        try:
            if route is None:
                raise ApiError(404, "Service not found")
            if route[1] is None:
                raise ApiError(405, "Method not allowed")
            if path.startswith("/v1/"):
                user = self._authenticate(headers)
                if path.startswith("/v1/me") and user != "user":
                    raise ApiError(401, "Unauthorized. This endpoint requires a user access token.")
            if path.startswith("/v1/") or path.startswith("/reccobeats/"):
                self._faults(path)
            ctx = {"query": query, "headers": headers, "body": body, "path": path, "raw": raw_path}
            result = route[1](ctx, *args)
            status, extra = 200, {}
            if isinstance(result, _Raw):
                return result.status, result.headers, result
            if self.mode == "development" and path.startswith("/v1/"):
                result = _strip_dev(result)
            return status, extra, result
        except ApiError as e:
            return e.status, e.headers, e.body()

    def _authenticate(self, headers: dict) -> str:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise ApiError(401, "No token provided")
        tok = auth[7:].strip()
        m = re.match(r"^EMU(cc|user)\.(\d+)\.[A-Za-z0-9_-]+$", tok)
        if not m:
            raise ApiError(401, "Invalid access token")
        if int(m.group(2)) < time.time():
            raise ApiError(401, "The access token expired")
        return "user" if m.group(1) == "user" else "cc"

    def _faults(self, path: str) -> None:
        with self._lock:
            cfg = self._cfg
            latency = cfg["latency_ms"]
        if latency:
            time.sleep(latency / 1000.0)
        with self._lock:
            if path.startswith("/v1/") and cfg["quota_exceeded"]:
                raise ApiError(429, "Too many requests", reason="QUOTA_EXCEEDED")
            b5 = cfg["burst_5xx"]
            if b5["count"] > 0 and path.startswith(b5.get("path_prefix") or "/"):
                b5["count"] -= 1
                st = int(b5.get("status", 503))
                raise ApiError(st, {500: "Server error", 502: "Bad gateway", 503: "Service unavailable",
                                    504: "Gateway timeout"}.get(st, "Server error"))
            b4 = cfg["burst_429"]
            if b4["count"] > 0 and path.startswith(b4.get("path_prefix") or "/"):
                b4["count"] -= 1
                ra = int(b4.get("retry_after", 1))
                raise ApiError(429, "API rate limit exceeded", headers={"Retry-After": str(ra)})
            limit = cfg["rate_limit_per_30s"]
            if limit is not None and path.startswith("/v1/"):
                now = time.monotonic()
                self._window = [t for t in self._window if t > now - 30.0]
                if len(self._window) >= limit:
                    wait = max(1, math.ceil(self._window[0] + 30.0 - now))
                    raise ApiError(429, "API rate limit exceeded", headers={"Retry-After": str(wait)})
                self._window.append(now)

    def _control(self, method: str, path: str, body: bytes):
        if path == "/_emulator/config":
            if method == "POST":
                try:
                    changes = json.loads(body or b"{}")
                    return 200, {}, self.configure(**changes)
                except (ValueError, TypeError) as e:
                    return 400, {}, {"error": {"status": 400, "message": str(e)}}
            return 200, {}, self.config()
        if path == "/_emulator/stats":
            return 200, {}, self.stats()
        if path == "/_emulator/reset" and method == "POST":
            self.reset_stats()
            return 200, {}, self.stats()
        if path == "/_emulator/health":
            return 200, {}, {"ok": True, "mode": self.mode}
        m = re.match(r"^/_emulator/charts/regional-([a-z]+)-weekly-(\d{4}-\d{2}-\d{2})\.csv$", path)
        if m and method == "GET":
            cc, day = m.group(1), m.group(2)
            if cc not in self.charts.defs:
                return 404, {}, {"error": {"status": 404, "message": f"no chart for {cc}"}}
            try:
                d = dt.date.fromisoformat(day)
            except ValueError:
                return 400, {}, {"error": {"status": 400, "message": "bad date"}}
            text = self.charts.weekly_csv(cc, d)
            return 200, {}, _Raw(text.encode("utf-8"), "text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="regional-{cc}-weekly-{day}.csv"'})
        return 404, {}, {"error": {"status": 404, "message": "Service not found"}}

    # -- object builders -----------------------------------------------------------------------------------------
    def _href(self, kind: str, id_: str) -> str:
        return f"{self.url}/v1/{kind}s/{id_}"

    def artist_simple(self, a: Artist) -> dict:
        return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{a.id}"},
                "href": self._href("artist", a.id), "id": a.id, "name": a.name, "type": "artist",
                "uri": f"spotify:artist:{a.id}"}

    def artist_full(self, a: Artist) -> dict:
        d = self.artist_simple(a)
        d.update({"followers": {"href": None, "total": a.followers}, "genres": list(a.genres),
                  "images": [{"url": artist_image_url(a.id, s), "height": s, "width": s} for s in (640, 320, 160)],
                  "popularity": a.popularity})
        return dict(sorted(d.items()))

    def album_simple(self, al: Album) -> dict:
        cat = self.catalog
        tids = cat.tracks_by_album.get(al.id, ())
        artist = cat.artists[cat.tracks[tids[0]].artist_id] if tids else None
        n = len(tids)
        return {"album_type": "single" if n <= 1 else "album", "total_tracks": n,
                "external_urls": {"spotify": f"https://open.spotify.com/album/{al.id}"},
                "href": self._href("album", al.id), "id": al.id,
                "images": [{"url": album_image_url(al.id, s), "height": s, "width": s} for s in (640, 300, 64)],
                "name": al.name, "release_date": al.release_date,
                "release_date_precision": al.release_date_precision, "type": "album",
                "uri": f"spotify:album:{al.id}", "artists": [self.artist_simple(artist)] if artist else [],
                "is_playable": True}

    def track_full(self, t: Track) -> dict:
        a = self.catalog.artists[t.artist_id]
        tids = self.catalog.tracks_by_album.get(t.album.id, (t.id,))
        return {"album": self.album_simple(t.album), "artists": [self.artist_simple(a)], "disc_number": 1,
                "duration_ms": t.duration_ms, "explicit": False,
                "external_ids": {"isrc": "QZ" + hashlib.sha1(t.id.encode()).hexdigest()[:10].upper()},
                "external_urls": {"spotify": f"https://open.spotify.com/track/{t.id}"},
                "href": self._href("track", t.id), "id": t.id, "is_local": False, "is_playable": True,
                "name": t.name, "popularity": t.popularity, "preview_url": None,
                "track_number": (tids.index(t.id) + 1) if t.id in tids else 1, "type": "track",
                "uri": f"spotify:track:{t.id}"}

    def features(self, t: Track) -> dict:
        d = dict(t.features)
        d.update({"type": "audio_features", "id": t.id, "uri": f"spotify:track:{t.id}",
                  "track_href": self._href("track", t.id),
                  "analysis_url": f"{self.url}/v1/audio-analysis/{t.id}", "duration_ms": t.duration_ms})
        return d

    def _owner(self, pid: str) -> dict:
        if pid in self.listener.playlist_ids:
            return {"display_name": "sori listener", "external_urls": {"spotify": f"https://open.spotify.com/user/{USER_ID}"},
                    "href": f"{self.url}/v1/users/{USER_ID}", "id": USER_ID, "type": "user",
                    "uri": f"spotify:user:{USER_ID}"}
        if pid.startswith(EDITORIAL_PREFIX):
            return {"display_name": "Spotify", "external_urls": {"spotify": "https://open.spotify.com/user/spotify"},
                    "href": f"{self.url}/v1/users/spotify", "id": "spotify", "type": "user",
                    "uri": "spotify:user:spotify"}
        uid = "user" + str(_h("owner", pid) % 10**9)
        return {"display_name": None, "external_urls": {"spotify": f"https://open.spotify.com/user/{uid}"},
                "href": f"{self.url}/v1/users/{uid}", "id": uid, "type": "user", "uri": f"spotify:user:{uid}"}

    def _playlist_meta(self, pid: str) -> tuple[str, str, list[str], str]:
        """(name, description, track ids, added_at) of a catalog or chart playlist."""
        chart = self.charts.by_playlist.get(pid)
        if chart is not None:
            day = dt.datetime.fromtimestamp(self.now_ms() / 1000, dt.timezone.utc).date()
            monday = day - dt.timedelta(days=day.weekday())
            return (f"Top 50 - {chart.name}",
                    f"Your weekly update of the most played tracks right now - {chart.name}.",
                    self.charts.top50(chart.country, day), monday.isoformat() + "T05:00:00Z")
        p = self.catalog.playlists.get(pid)
        if p is None:
            raise ApiError(404, "Resource not found")
        return p.name, "", list(p.track_ids), "2020-01-02T00:00:00Z"

    def _playlist_simple(self, pid: str) -> dict:
        name, desc, tids, _ = self._playlist_meta(pid)
        key = "items" if self.mode == "development" else "tracks"
        return {"collaborative": False, "description": desc,
                "external_urls": {"spotify": f"https://open.spotify.com/playlist/{pid}"},
                "href": self._href("playlist", pid), "id": pid,
                "images": [{"url": "https://mosaic.scdn.co/640/" + hashlib.sha1(pid.encode()).hexdigest(),
                            "height": 640, "width": 640}],
                "name": name, "owner": self._owner(pid), "primary_color": None, "public": True,
                "snapshot_id": base64.b64encode(hashlib.sha1((pid + str(len(tids))).encode()).digest()).decode(),
                key: {"href": self._href("playlist", pid) + "/" + key, "total": len(tids)}, "type": "playlist",
                "uri": f"spotify:playlist:{pid}"}

    # -- paging helpers ------------------------------------------------------------------------------------------
    def _page(self, ctx: dict, items: list, total: int, limit: int, offset: int, base: str | None = None) -> dict:
        base = base or (self.url + ctx["path"])
        q = {k: v for k, v in ctx["query"].items() if k not in ("limit", "offset")}

        def link(off):
            return base + "?" + urlencode({**q, "offset": off, "limit": limit})
        return {"href": link(offset), "items": items, "limit": limit,
                "next": link(offset + limit) if offset + limit < total else None, "offset": offset,
                "previous": link(max(0, offset - limit)) if offset > 0 else None, "total": total}

    @staticmethod
    def _int(ctx: dict, name: str, default: int, lo: int, hi: int, message: str = "Invalid limit") -> int:
        raw = ctx["query"].get(name)
        if raw in (None, ""):
            return default
        try:
            v = int(raw)
        except ValueError:
            raise ApiError(400, message)
        if not lo <= v <= hi:
            raise ApiError(400, message)
        return v

    def _ids(self, ctx: dict, cap: int) -> list[str]:
        raw = ctx["query"].get("ids")
        if not raw:
            raise ApiError(400, "invalid request: missing ids")
        ids = [i.strip().split(":")[-1] for i in raw.split(",") if i.strip()]
        if len(ids) > cap:
            raise ApiError(400, "Too many ids requested")
        return ids

    def _dev(self) -> bool:
        return self.mode == "development"

    def _get_artist(self, aid: str) -> Artist:
        if not BASE62.match(aid):
            raise ApiError(400, "Invalid base62 id")
        a = self.catalog.artists.get(aid)
        if a is None:
            raise ApiError(404, "Resource not found")
        return a

    def _get_track(self, tid: str) -> Track:
        if not BASE62.match(tid):
            raise ApiError(400, "Invalid base62 id")
        t = self.catalog.tracks.get(tid)
        if t is None:
            raise ApiError(404, "Resource not found")
        return t

    # -- endpoint handlers ---------------------------------------------------------------------------------------
    def _token(self, ctx):
        form = {k: v[-1] for k, v in parse_qs(ctx["body"].decode("utf-8", "replace")).items()}
        cid = form.get("client_id", "")
        secret = form.get("client_secret", "")
        auth = ctx["headers"].get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                cid = secret = ""
        grant = form.get("grant_type", "")

        def fail(status, error, desc):
            raise _TokenError(status, {"error": error, "error_description": desc})
        if grant not in ("client_credentials", "refresh_token", "authorization_code"):
            fail(400, "unsupported_grant_type", f"grant_type parameter is missing or invalid: {grant!r}")
        if grant == "client_credentials" and (not cid or not secret):
            fail(400, "invalid_client", "Invalid client")
        if grant != "client_credentials" and not cid:
            fail(400, "invalid_client", "Invalid client")
        if grant == "refresh_token" and not form.get("refresh_token"):
            fail(400, "invalid_request", "refresh_token must be supplied")
        if grant == "authorization_code" and not form.get("code"):
            fail(400, "invalid_grant", "Invalid authorization code")
        kind = "cc" if grant == "client_credentials" else "user"
        exp = int(time.time()) + 3600
        out = {"access_token": f"EMU{kind}.{exp}.{secrets.token_urlsafe(24)}", "token_type": "Bearer",
               "expires_in": 3600}
        if kind == "user":
            out["scope"] = form.get("scope") or ("user-read-recently-played user-follow-read "
                                                 "playlist-read-private")
            out["refresh_token"] = "EMUrt." + secrets.token_urlsafe(32)   # rotates on every grant
        return out

    def _search(self, ctx):
        q = ctx["query"].get("q", "")
        types = [t.strip() for t in ctx["query"].get("type", "").split(",") if t.strip()]
        if not q.strip():
            raise ApiError(400, "No search query")
        if not types:
            raise ApiError(400, "Missing parameter type")
        allowed = {"artist", "track", "album", "playlist", "show", "episode", "audiobook"}
        if any(t not in allowed for t in types):
            raise ApiError(400, "Bad search type field")
        limit = self._int(ctx, "limit", 10 if self._dev() else 20, 0, 10 if self._dev() else 50)
        offset = self._int(ctx, "offset", 0, 0, 1000, "Invalid offset")
        out = {}
        cat = self.catalog
        for t in types:
            if t == "artist":
                found = cat.search_artists(q)
                items = [self.artist_full(a) for a in found[offset:offset + limit]]
            elif t == "track":
                found = cat.search_tracks(q)
                items = [self.track_full(x) for x in found[offset:offset + limit]]
            elif t == "album":
                seen, found = set(), []
                for x in cat.search_tracks(q):
                    if x.album.id not in seen:
                        seen.add(x.album.id)
                        found.append(x.album)
                items = [self.album_simple(a) for a in found[offset:offset + limit]]
            else:
                found, items = [], []
            out[t + "s"] = self._page(ctx, items, min(len(found), 1000), limit, offset, self.url + "/v1/search")
        return out

    def _artist(self, ctx, aid):
        return self.artist_full(self._get_artist(aid))

    def _artists(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 50)
        return {"artists": [self.artist_full(self.catalog.artists[i]) if i in self.catalog.artists else None
                            for i in ids]}

    def _top_tracks(self, ctx, aid):
        if self._dev():
            raise ApiError(403, "Forbidden")
        a = self._get_artist(aid)
        return {"tracks": [self.track_full(t) for t in self.catalog.top_tracks(a.id, 10)]}

    def _related(self, ctx, aid):
        if self._dev():
            raise ApiError(404, "Not found")
        a = self._get_artist(aid)
        return {"artists": [self.artist_full(x) for x in self.catalog.related_artists(a.id, 20)]}

    def _artist_albums(self, ctx, aid):
        a = self._get_artist(aid)
        limit = self._int(ctx, "limit", 20, 1, 50)
        offset = self._int(ctx, "offset", 0, 0, 10_000, "Invalid offset")
        seen, albums = set(), []
        for tid in self.catalog.tracks_by_artist.get(a.id, ()):
            al = self.catalog.tracks[tid].album
            if al.id not in seen:
                seen.add(al.id)
                albums.append(al)
        albums.sort(key=lambda al: (al.release_date, al.id), reverse=True)
        items = []
        for al in albums[offset:offset + limit]:
            d = self.album_simple(al)
            d["album_group"] = d["album_type"]
            items.append(d)
        return self._page(ctx, items, len(albums), limit, offset)

    def _album_full(self, al: Album) -> dict:
        d = self.album_simple(al)
        tracks = []
        for tid in self.catalog.tracks_by_album.get(al.id, ()):
            t = self.track_full(self.catalog.tracks[tid])
            for k in ("album", "popularity", "external_ids"):
                t.pop(k, None)
            tracks.append(t)
        d.update({"genres": [], "label": _LABELS[_h("label", al.id) % len(_LABELS)], "popularity":
                  max((self.catalog.tracks[t].popularity for t in self.catalog.tracks_by_album.get(al.id, ())),
                      default=0),
                  "copyrights": [], "external_ids": {"upc": str(_h("upc", al.id) % 10**12).zfill(12)},
                  "tracks": {"href": self._href("album", al.id) + "/tracks", "items": tracks, "limit": 50,
                             "next": None, "offset": 0, "previous": None, "total": len(tracks)}})
        return d

    def _album(self, ctx, alid):
        if not BASE62.match(alid):
            raise ApiError(400, "Invalid base62 id")
        al = self.catalog.albums.get(alid)
        if al is None:
            raise ApiError(404, "Resource not found")
        return self._album_full(al)

    def _albums(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 20)
        return {"albums": [self._album_full(self.catalog.albums[i]) if i in self.catalog.albums else None
                           for i in ids]}

    def _track(self, ctx, tid):
        return self.track_full(self._get_track(tid))

    def _tracks(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 50)
        return {"tracks": [self.track_full(self.catalog.tracks[i]) if i in self.catalog.tracks else None
                           for i in ids]}

    def _features_many(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 100)
        return {"audio_features": [self.features(self.catalog.tracks[i]) if i in self.catalog.tracks else None
                                   for i in ids]}

    def _features_one(self, ctx, tid):
        if self._dev():
            raise ApiError(403, "Forbidden")
        return self.features(self._get_track(tid))

    def _recommendations(self, ctx):
        if self._dev():
            raise ApiError(404, "Not found")
        q = ctx["query"]
        limit = self._int(ctx, "limit", 20, 1, 100)
        seeds_a = [s for s in q.get("seed_artists", "").split(",") if s]
        seeds_t = [s for s in q.get("seed_tracks", "").split(",") if s]
        if not seeds_a and not seeds_t and not q.get("seed_genres"):
            raise ApiError(400, "Missing required parameter: seed_artists, seed_genres or seed_tracks")
        cat = self.catalog
        artists = [a for a in seeds_a if a in cat.artists]
        artists += [cat.tracks[t].artist_id for t in seeds_t if t in cat.tracks]
        pool: list[str] = []
        for a in artists:
            for r in cat.related_artists(a, 10):
                pool.extend(cat.tracks_by_artist.get(r.id, ())[:3])
        seen, out = set(seeds_t), []
        for tid in pool:
            if tid not in seen:
                seen.add(tid)
                out.append(tid)
        out.sort(key=lambda t: _h("rec", ",".join(artists), t))
        return {"seeds": [{"id": a, "type": "ARTIST", "href": self._href("artist", a), "initialPoolSize": len(pool),
                           "afterFilteringSize": len(out), "afterRelinkingSize": len(out)} for a in seeds_a]
                + [{"id": t, "type": "TRACK", "href": self._href("track", t), "initialPoolSize": len(pool),
                    "afterFilteringSize": len(out), "afterRelinkingSize": len(out)} for t in seeds_t],
                "tracks": [self.track_full(cat.tracks[t]) for t in out[:limit]]}

    def _check_playlist_access(self, pid: str, items_endpoint: bool) -> None:
        if pid not in self.catalog.playlists and pid not in self.charts.by_playlist:
            raise ApiError(404, "Resource not found")
        if self._dev():
            if pid.startswith(EDITORIAL_PREFIX):
                raise ApiError(404, "Resource not found")
            if items_endpoint and pid not in self.listener.playlist_ids:
                raise ApiError(403, "Forbidden")

    def _playlist_items_page(self, ctx, pid: str, new_shape: bool) -> dict:
        limit = self._int(ctx, "limit", 100, 1, 100)
        offset = self._int(ctx, "offset", 0, 0, 100_000, "Invalid offset")
        _, _, tids, added_at = self._playlist_meta(pid)
        owner = self._owner(pid)
        added_by = {k: owner[k] for k in ("external_urls", "href", "id", "type", "uri")}
        items = []
        for tid in tids[offset:offset + limit]:
            tr = self.track_full(self.catalog.tracks[tid])
            it = {"added_at": added_at, "added_by": added_by, "is_local": False, "primary_color": None,
                  "track": tr, "video_thumbnail": {"url": None}}
            if new_shape:
                it["item"] = tr
            items.append(it)
        return self._page(ctx, items, len(tids), limit, offset)

    def _playlist(self, ctx, pid):
        self._check_playlist_access(pid, items_endpoint=False)
        d = self._playlist_simple(pid)
        d["followers"] = {"href": None, "total": 1000 + _h("followers", pid) % 5_000_000}
        if self._dev():
            # Feb-2026: `tracks` -> `items`; items only for the user's own playlists
            if pid in self.listener.playlist_ids:
                d["items"] = self._playlist_items_page({**ctx, "path": f"/v1/playlists/{pid}/items",
                                                        "query": {}}, pid, True)
        else:
            d["tracks"] = self._playlist_items_page({**ctx, "path": f"/v1/playlists/{pid}/tracks", "query": {}},
                                                    pid, False)
        return d

    def _playlist_tracks(self, ctx, pid):
        if self._dev():
            raise ApiError(404, "Not found")
        self._check_playlist_access(pid, items_endpoint=True)
        return self._playlist_items_page(ctx, pid, False)

    def _playlist_items(self, ctx, pid):
        self._check_playlist_access(pid, items_endpoint=True)
        return self._playlist_items_page(ctx, pid, True)

    def _me(self, ctx):
        return {"country": "KR", "display_name": "sori listener", "explicit_content":
                {"filter_enabled": False, "filter_locked": False},
                "external_urls": {"spotify": f"https://open.spotify.com/user/{USER_ID}"},
                "followers": {"href": None, "total": 3}, "href": f"{self.url}/v1/users/{USER_ID}", "id": USER_ID,
                "images": [], "product": "premium", "type": "user", "uri": f"spotify:user:{USER_ID}"}

    def _my_playlists(self, ctx):
        limit = self._int(ctx, "limit", 20, 1, 50)
        offset = self._int(ctx, "offset", 0, 0, 100_000, "Invalid offset")
        ids = list(self.listener.playlist_ids)
        return self._page(ctx, [self._playlist_simple(p) for p in ids[offset:offset + limit]], len(ids), limit,
                          offset)

    def _recently_played(self, ctx):
        q = ctx["query"]
        limit = self._int(ctx, "limit", 20, 1, 50)
        after, before = q.get("after"), q.get("before")
        if after and before:
            raise ApiError(400, "Only one of after and before may be specified")
        try:
            after_ms = int(after) if after else None
            before_ms = int(before) if before else None
        except ValueError:
            raise ApiError(400, "Invalid cursor")
        hist = self.listener.history(self.now_ms())          # newest first
        if after_ms is not None:
            newer = [p for p in hist if p[0] > after_ms]      # newest first
            page = newer[-limit:]                             # the `limit` plays closest to the cursor
            more = len(newer) > len(page)
        else:
            older = [p for p in hist if before_ms is None or p[0] < before_ms]
            page = older[:limit]
            more = len(older) > len(page)
        cat = self.catalog
        items = []
        for ms, tid, c in page:
            ctxobj = None
            if c:
                kind, cid = c
                ctxobj = {"type": kind, "href": self._href(kind, cid),
                          "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{cid}"},
                          "uri": f"spotify:{kind}:{cid}"}
            played = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
            items.append({"track": self.track_full(cat.tracks[tid]),
                          "played_at": played.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
                          "context": ctxobj})
        base = self.url + "/v1/me/player/recently-played"
        cursors = {"after": str(page[0][0]), "before": str(page[-1][0])} if page else None
        nxt = None
        if more and page:
            nxt = base + "?" + urlencode({"after": page[0][0], "limit": limit} if after_ms is not None
                                         else {"before": page[-1][0], "limit": limit})
        return {"items": items, "next": nxt, "cursors": cursors, "limit": limit,
                "href": base + "?" + urlencode({k: v for k, v in q.items()})}

    def _following(self, ctx):
        q = ctx["query"]
        if q.get("type") != "artist":
            raise ApiError(400, "Bad type")
        limit = self._int(ctx, "limit", 20, 1, 50)
        ids = list(self.listener.followed)
        start = 0
        if q.get("after"):
            start = bisect_left(ids, q["after"])
            if start < len(ids) and ids[start] == q["after"]:
                start += 1
        page = ids[start:start + limit]
        more = start + limit < len(ids)
        base = self.url + "/v1/me/following"
        return {"artists": {"items": [self.artist_full(self.catalog.artists[a]) for a in page],
                            "next": base + "?" + urlencode({"type": "artist", "after": page[-1], "limit": limit})
                            if more and page else None,
                            "total": len(ids), "cursors": {"after": page[-1] if more and page else None},
                            "limit": limit, "href": base + "?" + urlencode(q)}}

    def _reccobeats(self, ctx):
        raw = ctx["query"].get("ids", "")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            raise _TokenError(400, {"timestamp": _iso_now(), "error": "Bad Request", "status": 400,
                                    "message": "ids is required"})
        if len(ids) > 40:
            raise _TokenError(400, {"timestamp": _iso_now(), "error": "Bad Request", "status": 400,
                                    "message": "Maximum 40 ids per request"})
        content = []
        for sid in ids:
            sid = sid.split(":")[-1].split("/")[-1]
            t = self.catalog.tracks.get(sid)
            if t is None:
                continue
            f = {k: t.features[k] for k in FEATURE_KEYS}
            content.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "reccobeats:" + t.id)),
                            "href": f"https://open.spotify.com/track/{t.id}", **f})
        return {"content": content}


class _TokenError(ApiError):
    """An error whose body is not Spotify's ``{"error": {...}}`` shape (token endpoint, ReccoBeats)."""

    def __init__(self, status: int, payload: dict):
        super().__init__(status, str(payload))
        self.payload = payload

    def body(self) -> dict:
        return self.payload


def _iso_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _strip_dev(obj):
    """Development mode: drop artist followers/popularity and track popularity everywhere."""
    if isinstance(obj, dict):
        typ = obj.get("type")
        out = {}
        for k, v in obj.items():
            if typ in ("artist", "track") and k == "popularity":
                continue
            if typ == "artist" and k == "followers":
                continue
            out[k] = _strip_dev(v)
        return out
    if isinstance(obj, list):
        return [_strip_dev(x) for x in obj]
    return obj


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # else replies on kept-alive connections stall ~40 ms (delayed ACK)
    emulator: SpotifyEmulator
    protocol_version = "HTTP/1.1"
    server_version = "sori-spotify-emulator/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, extra, payload = self.emulator.handle(method, self.path, headers, body)
        except Exception as e:  # a bug: answer 500 rather than hang the client
            status, extra, payload = 500, {}, {"error": {"status": 500, "message": f"emulator error: {e!r}"}}
        if isinstance(payload, _Raw):
            data, ctype = payload.body, payload.content_type
        else:
            data, ctype = json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Spotify Web API emulator (sori, dev-only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", choices=MODES, default="extended")
    args = ap.parse_args(list(argv) if argv is not None else None)
    emu = SpotifyEmulator(mode=args.mode, port=args.port, host=args.host).start()
    print(json.dumps({"url": emu.url, "token_url": emu.token_url, "api_prefix": emu.api_prefix,
                      "reccobeats_url": emu.reccobeats_url, "mode": emu.mode}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
