"""The compact catalog the emulator serves: text helpers, Artist/Album/Track/Playlist, ``Catalog``,
``parse_query`` and ``load_catalog`` (see the package docstring)."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re
import threading
import unicodedata
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent  # local/
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

    # one pass over the dataset building every index; each branch is one field's cleaning rule
    def __init__(self, data: dict, korean_names_path: Path | str | None = KOREAN_NAMES_PATH):  # noqa: C901
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
            f = dict(zip(feats, fv, strict=False))
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
        for artist in self.artists.values():
            names = (artist.name, *self.korean_names.get(artist.id, ()))
            toks: set[str] = set()
            comps: set[str] = set()
            for n in names:
                name_index[normalize(n)].append(artist.id)
                toks.update(tokens(n))
                c = compact(n)
                if c:
                    comps.add(c)
            toks |= comps
            self._artist_tokens[artist.id] = toks
            self._artist_compacts[artist.id] = comps
            for tk in toks:
                artist_tok_index[tk].add(artist.id)
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
        self._credits: dict[str, tuple[str, ...]] = {}
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

    # -- credits and public playlists ------------------------------------------------------------------------
    def credited_artists(self, track: Track | str) -> list[Artist]:
        """Every artist of a track, as the real API lists them: the main artist, then the catalog artists named
        in a "(feat. X)" / "(with X, Y & Z)" part of the title (featured names the catalog lacks are left out)."""
        t = self.tracks[track] if isinstance(track, str) else track
        ids = self._credits.get(t.id)
        if ids is None:
            ids = (t.artist_id,)
            m = _FEAT.search(t.name)
            if m:
                for part in re.split(r",|&| and | x ", m.group(1)):
                    a = self.find_artist(part.strip())
                    if a and a.id not in ids:
                        ids += (a.id,)
            self._credits[t.id] = ids
        return [self.artists[i] for i in ids]

    def playlist_artists(self, playlist_id: str) -> list[str]:
        """Distinct main artists of a playlist's tracks, most frequent first (ties: first appearance)."""
        p = self.playlists[playlist_id]
        counts = Counter(self.tracks[t].artist_id for t in p.track_ids)
        order = {a: i for i, a in reversed(list(enumerate(self.tracks[t].artist_id for t in p.track_ids)))}
        return sorted(counts, key=lambda a: (-counts[a], order[a]))

    def playlist_description(self, playlist_id: str) -> str:
        """What a curator writes under a public playlist: its genre and the artists it features most."""
        p = self.playlists[playlist_id]
        names = [self.artists[a].name for a in self.playlist_artists(playlist_id)[:4]]
        return f"{p.subgenre or p.genre} \u2014 with {', '.join(names)}" if names else (p.subgenre or p.genre)

    def search_playlists(self, query: str, editorial: bool = True) -> list[Playlist]:
        """Public playlists whose name or description matches every token of ``query``, best first: name
        matches before description matches, then more tracks, then id. ``genre:`` filters on the playlist's
        genre labels; ``editorial=False`` leaves out the Spotify-owned ones."""
        q = parse_query(query)
        toks = set(tokens(" ".join(q["free"] + q.get("artist", []))))
        genres = {normalize(g) for g in q.get("genre", [])}
        if not toks and not genres:
            return []
        ranked = []
        for p in self.playlists.values():
            if p.editorial and not editorial:
                continue
            labels = {normalize(x) for pair in p.labels for x in pair}
            if genres and not genres <= labels:
                continue
            name = set(tokens(p.name))
            text = name | set(tokens(self.playlist_description(p.id))) | labels
            if toks and not toks <= text:
                continue
            ranked.append((0 if toks and toks <= name else 1, -len(p.track_ids), p.id))
        ranked.sort()
        return [self.playlists[pid] for *_, pid in ranked]

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
        scores: defaultdict[str, float] = defaultdict(float)
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

    def search_tracks(self, query: str) -> list[Track]:  # noqa: C901 - Spotify's field filters, one branch each
        """Tracks matching a Spotify-style query: free text over track and artist names (Hangul aliases too);
        ``artist:"NAME"``, ``track:"NAME"``, ``year:YYYY[-YYYY]``, ``genre:`` filters. Best first."""
        q = parse_query(query)
        cands: set[str] | None = None

        def narrow(ids: set[str]):
            nonlocal cands
            cands = ids if cands is None else cands & ids

        for tk in tokens(" ".join(q["free"])):
            by_name = self._expand(tk, self._track_tok_index, self._track_vocab)
            by_artist: set[str] = set()
            for a in self._expand(tk, self._artist_tok_index, self._artist_vocab):
                by_artist.update(self.tracks_by_artist.get(a, ()))
            narrow(by_name | by_artist)
        for name in q.get("artist", []):
            of_artist: set[str] = set()
            for a in self._artist_filter(name):
                of_artist.update(self.tracks_by_artist.get(a, ()))
            narrow(of_artist)
        for name in q.get("track", []):
            ids: set[str] | None = None
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
            artist = self.artists[t.artist_id]
            if fn and normalize(t.name) == fn:
                r = 4
            elif fn and (normalize(artist.name) == fn
                         or fn in {normalize(k) for k in self.korean_names.get(artist.id, ())}):
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


_FEAT = re.compile(r"[\(\[]\s*(?:feat\.?|ft\.?|featuring|with)\s+([^\)\]]+)[\)\]]", re.I)
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


