"""Deterministic weekly country charts with country tastes and a seasonal drift."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.emulator.catalog import (
    CHARTS_PATH,
    Artist,
    Catalog,
    Track,
    _gauss,
    _h,
)

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


def _label_for(cat: Catalog, a: Artist, t: Track) -> str:
    if a.name in _KNOWN_LABELS:
        return _KNOWN_LABELS[a.name]
    labels: tuple[str, ...]
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
        out: list[Any] = []
        per_artist: Counter[str] = Counter()
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
        """Names of the catalog artists credited besides the main one ("(feat. X)" / "(with X)" titles)."""
        return [a.name for a in self.catalog.credited_artists(track)[1:]]

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
            names = ", ".join([a.name, *self.featured_artists(t)])
            source = _label_for(cat, a, t)
            past = [h[tid] for h in history if tid in h]
            prev = history[0].get(tid, -1)
            weeks_on = 1 + len(past)
            peak = min([rank, *past])
            st = str(streams[i])
            buf.write(",".join([str(rank), q("spotify:track:" + tid), q(names), q(t.name), q(source), str(peak),
                                str(prev), str(weeks_on), q(st) if quote_streams else st]) + "\r\n")
        return buf.getvalue()


