"""Sample lake data for the analytics views, without running the pipeline (dev-only).

Real-format weekly chart CSVs from the Spotify emulator (``Charts.weekly_csv``: BOM, CRLF, quoted fields) are
parsed with the production parser (``sori.charts.parse_weekly_csv``) and turned into contract records
(``chart_entry``, ``audio_features``, ``artist``, ``top_track``, ``play``) with ``sori.records.make_record``;
:func:`lake_tables` flattens records into lake tables exactly as the s3 sink does (``lake_row`` + ``dt``).

The sample also carries the lake's untidy parts the views must cope with: a chart week ingested twice, tracks
with no audio features (ReccoBeats gaps), older feature snapshots with other values, and plays read twice.

>>> recs = chart_week_records("kr", "2026-01-08")
>>> len(recs), recs[0]["data"]["rank"]
(200, 1)

Used by the analytics tests and by ``sori dashboard --sample`` (a preview with no stack running).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from sori.charts import chart_for, parse_weekly_csv
from sori.lake import arrow_schema
from sori.records import TABLES, lake_row, make_record, validate

#: A mix of hemispheres and tastes (Global is a chart of its own).
DEFAULT_COUNTRIES = ("global", "kr", "us", "se", "br", "au")
USER_ID = "sori-listener"
FEATURE_KEYS = ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
                "instrumentalness", "liveness", "valence", "tempo", "time_signature", "duration_ms")


def _u(*parts: Any) -> float:
    """A deterministic number in [0, 1) from the parts."""
    h = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2 ** 64


def sample_weeks(n: int = 6, first: str = "2025-12-04", step: int = 9) -> list[str]:
    """``n`` chart weeks (Thursdays), ``step`` weeks apart from ``first``: a year covers every season."""
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(weeks=step * i)).isoformat() for i in range(n)]


def _catalog():
    from local.emulator import load_catalog

    return load_catalog()  # cached by the emulator


@functools.lru_cache(maxsize=1)
def _charts():
    from local.emulator import Charts

    return Charts(_catalog())  # caches rankings: weeks share their chart history


def chart_csv(country: str, week: str) -> str:
    """The emulator's charts.spotify.com-format weekly CSV of ``country`` for the chart week ``week``."""
    return _charts().weekly_csv(country, dt.date.fromisoformat(week))


def _emitted(day: str, hour: int = 9) -> str:
    return f"{day}T{hour:02d}:00:00Z"


def chart_week_records(country: str, week: str, csv_text: str | bytes | None = None,
                       emitted_at: str | None = None) -> list[dict]:
    """``chart_entry`` records of one weekly CSV (the emulator's when ``csv_text`` is None).

    Names come from the CSV; ids are resolved against the catalog the way the producer resolves them from
    Spotify's track objects: the track's own artist, plus featured artists found by name.
    """
    cat = _catalog()
    chart = chart_for(country)
    text = chart_csv(country, week) if csv_text is None else csv_text
    rows = parse_weekly_csv(text, name=f"regional-{country}-weekly-{week}.csv")
    emitted_at = emitted_at or _emitted((dt.date.fromisoformat(week) + dt.timedelta(days=1)).isoformat())
    out = []
    for r in rows:
        track = cat.tracks.get(r.track_id)
        ids = []
        if track is not None:
            ids.append(track.artist_id)
            for name in r.artist_names[1:]:
                a = cat.find_artist(name)
                if a is not None and a.id not in ids:
                    ids.append(a.id)
        out.append(make_record("chart_entry", {
            "chart_id": chart.chart_id, "country": chart.country, "week": week, "rank": r.rank,
            "track_id": r.track_id, "track_name": r.track_name, "artist_names": list(r.artist_names),
            "artist_ids": ids or None, "streams": r.streams, "peak_rank": r.peak_rank,
            "previous_rank": r.previous_rank, "weeks_on_chart": r.weeks_on_chart, "via": "csv",
        }, source="charts.spotify.com", emitted_at=emitted_at))
    return out


def features_records(track_ids: Iterable[str], emitted_at: str, *, gap_rate: float = 0.04,
                     stale_rate: float = 0.1) -> list[dict]:
    """``audio_features`` for the tracks the catalog knows, except a ``gap_rate`` share (no features found);
    a ``stale_rate`` share also gets an older snapshot (30 days earlier) with different values."""
    cat = _catalog()
    out = []
    older = (dt.datetime.fromisoformat(emitted_at.replace("Z", "+00:00")) - dt.timedelta(days=30))
    older_at = older.strftime("%Y-%m-%dT%H:%M:%SZ")
    for tid in dict.fromkeys(track_ids):
        t = cat.tracks.get(tid)
        if t is None or _u("gap", tid) < gap_rate:
            continue
        values = {k: t.features[k] for k in FEATURE_KEYS if t.features.get(k) is not None}
        data = {"track_id": tid, **values, "artist_id": t.artist_id, "via": "spotify"}
        out.append(make_record("audio_features", data, source="spotify", emitted_at=emitted_at))
        if _u("stale", tid) < stale_rate:
            stale = {**data, "danceability": round(1 - values["danceability"], 3), "tempo": values["tempo"] + 40.0,
                     "mode": 1 - values["mode"]}
            out.append(make_record("audio_features", stale, source="spotify", emitted_at=older_at))
    return out


def artist_records(artist_ids: Iterable[str], emitted_at: str) -> list[dict]:
    cat = _catalog()
    out = []
    for aid in dict.fromkeys(artist_ids):
        a = cat.artists.get(aid)
        if a is not None:
            out.append(make_record("artist", {"artist_id": a.id, "name": a.name, "genres": list(a.genres) or None,
                                              "popularity": a.popularity, "followers": a.followers},
                                   source="spotify", emitted_at=emitted_at))
    return out


def top_track_records(artist_ids: Iterable[str], emitted_at: str, n: int = 5) -> list[dict]:
    cat = _catalog()
    out = []
    for aid in dict.fromkeys(artist_ids):
        a = cat.artists.get(aid)
        for rank, t in enumerate(cat.top_tracks(aid, n), start=1):
            out.append(make_record("top_track", {"artist_id": aid, "track_id": t.id, "name": t.name, "rank": rank,
                                                 "artist_name": a.name if a else None, "via": "top-tracks"},
                                   source="spotify", emitted_at=emitted_at))
    return out


def play_records(track_ids: Sequence[str], days: Sequence[str], per_day: int = 24) -> list[dict]:
    """A listening user's plays: ``per_day`` plays each day, the first few read again in a later poll."""
    cat = _catalog()
    out = []
    for d in days:
        for i in range(per_day):
            tid = track_ids[int(_u("play", d, i) * len(track_ids))]
            t = cat.tracks[tid]
            a = cat.artists[t.artist_id]
            played_at = f"{d}T{(i * 23) // per_day:02d}:{(i * 7) % 60:02d}:00.000Z"
            data = {"user_id": USER_ID, "played_at": played_at, "track_id": tid, "track_name": t.name,
                    "artist_ids": [a.id], "artist_names": [a.name], "duration_ms": t.duration_ms}
            out.append(make_record("play", data, source="spotify", emitted_at=f"{d}T23:30:00Z"))
            if i < 3:  # the next poll's recently-played window overlaps the last one
                next_day = (dt.date.fromisoformat(d) + dt.timedelta(days=1)).isoformat()
                out.append(make_record("play", data, source="spotify", emitted_at=f"{next_day}T01:30:00Z"))
    return out


def sample_records(countries: Sequence[str] = DEFAULT_COUNTRIES, weeks: Sequence[str] | None = None,
                   listening_days: int = 3) -> list[dict]:
    """Every record of the sample: charts for ``countries`` × ``weeks`` (the first chart week of the first
    country ingested twice) with features, artists and top tracks of charting artists, and a few days of plays."""
    weeks = list(weeks or sample_weeks())
    records: list[dict] = []
    for cc in countries:
        for w in weeks:
            records.extend(chart_week_records(cc, w))
    # a re-ingested chart week (a re-run or a second drop of the same CSV): same ids, a later emission
    records.extend(chart_week_records(countries[0], weeks[0],
                                      emitted_at=_emitted((dt.date.fromisoformat(weeks[0])
                                                           + dt.timedelta(days=3)).isoformat(), 12)))
    entries = [r["data"] for r in records if r["type"] == "chart_entry"]
    last = _emitted((dt.date.fromisoformat(max(weeks)) + dt.timedelta(days=2)).isoformat(), 3)
    track_ids = [e["track_id"] for e in entries]
    records.extend(features_records(track_ids, last))
    artist_ids = [a for e in entries for a in (e.get("artist_ids") or [])]
    records.extend(artist_records(artist_ids, last))
    lead_ids = list(dict.fromkeys(e["artist_ids"][0] for e in entries
                                  if e.get("rank", 99) <= 5 and e.get("artist_ids")))
    records.extend(top_track_records(lead_ids, last))
    play_days = [(dt.date.fromisoformat(max(weeks)) - dt.timedelta(days=k)).isoformat()
                 for k in range(listening_days, 0, -1)]
    records.extend(play_records(list(dict.fromkeys(track_ids))[:300], play_days))
    return records


@functools.lru_cache(maxsize=1)
def default_sample() -> tuple[dict, ...]:
    """:func:`sample_records` with the defaults, computed once per process (records are not to be mutated)."""
    return tuple(sample_records())


def lake_tables(records: Iterable[dict]) -> dict[str, pa.Table]:
    """Records → one Arrow table per lake table (contract schema + string ``dt``), as the s3 sink writes them.
    Every lake table is present (empty when no record went to it)."""
    rows: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        r = validate(rec)
        rows[r.spec.table].append({**lake_row(r), "dt": r.dt})
    out = {}
    for table in TABLES:
        schema = arrow_schema(table).append(pa.field("dt", pa.string()))
        out[table] = pa.Table.from_pylist(rows.get(table, []), schema=schema)
    return out


def sample_duckdb(records: Iterable[dict] | None = None, con: Any = None) -> Any:
    """A DuckDB connection with the sample (or the given records) as lake tables and every view installed."""
    import duckdb

    from sori.views import install_duckdb

    con = con or duckdb.connect()
    tables = lake_tables(default_sample() if records is None else records)
    for name, table in tables.items():
        con.register(f"__lake_{name}", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __lake_{name}")
        con.unregister(f"__lake_{name}")
    install_duckdb(con)
    return con
