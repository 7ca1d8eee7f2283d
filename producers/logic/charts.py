"""Weekly charts: Global + 61 countries → ``chart_entry``, ``audio_features``, ``collection_member`` (kind ``chart``).

Per chart the editorial "Top 50" playlist is read where this app may (extended mode); otherwise the
charts.spotify.com weekly CSV export (200 rows) is used — fetched from a configured URL, or dropped into
``landing/charts/`` (the S3 handler calls :func:`ingest_csv` with the same logic). A chart's records are built in
full before any is emitted, so a chart is never half-ingested.

Record ids are deterministic: ``chart_entry:<chart_id>:<week>:<rank>``; re-running a week emits the same ids.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from producers.logic.records import collection_records, features_record
from sori.charts import Chart, ChartRow, parse_weekly_csv
from sori.records import make_record
from sori.spotify.client import QuotaExceeded, RateLimited
from sori.spotify.sources import Sources

CSV_SOURCE = "charts.spotify.com"

Emit = Callable[[list[dict[str, Any]]], None]


@dataclass
class Entry:
    rank: int
    track_id: str
    track_name: str | None
    artists: list[dict[str, Any]]  # simplified artist objects ({"id", "name"}); id may be missing for unresolved names
    artist_names: list[str]
    streams: int | None = None
    peak_rank: int | None = None
    previous_rank: int | None = None
    weeks_on_chart: int | None = None


@dataclass
class ChartsResult:
    records: Counter[Any] = field(default_factory=Counter)
    charts: dict[str, str] = field(default_factory=dict)  # country -> via ("top50-playlist" | "csv" | "awaiting-drop")
    pending: list[str] = field(default_factory=list)  # countries left when the run stopped
    seen_artists: dict[str, str] = field(default_factory=dict)  # artist id -> name (seed the catalog)
    stopped: str | None = None


def entries_from_playlist(tracks: Iterable[tuple[int, Mapping[str, Any]] | Mapping[str, Any]]) -> list[Entry]:
    """Chart entries from ``(position, track)`` pairs (:meth:`Sources.chart_playlist`): the rank is the item's
    position in the playlist, whatever was skipped before it. Bare track objects are ranked by their order."""
    out = []
    for n, item in enumerate(tracks, start=1):
        rank, t = item if isinstance(item, tuple) else (n, item)
        artists = [{"id": a.get("id"), "name": a.get("name")} for a in t.get("artists") or [] if a]
        out.append(Entry(rank, t["id"], t.get("name"), artists, [a["name"] for a in artists if a.get("name")]))
    return out


def entries_from_csv(rows: list[ChartRow], track_artists: Mapping[str, list[dict[str, Any]]]) -> list[Entry]:
    """CSV rows + the artists Spotify lists for each track (names in the CSV carry no ids; a featured artist
    named only in the CSV is kept by name)."""
    out = []
    for r in rows:
        known = [{"id": a.get("id"), "name": a.get("name")} for a in track_artists.get(r.track_id) or [] if a]
        names = {a["name"] for a in known}
        extra = [{"id": None, "name": n} for n in r.artist_names if n not in names]
        out.append(Entry(r.rank, r.track_id, r.track_name, known + extra, list(r.artist_names), r.streams,
                         r.peak_rank, r.previous_rank, r.weeks_on_chart))
    return out


def chart_records(chart: Chart, week: str, entries: list[Entry], via: str, *, emitted_at: str) -> list[dict[str, Any]]:
    """``chart_entry`` for every entry and ``collection_member`` (kind ``chart``) for every known artist."""
    source = CSV_SOURCE if via == "csv" else "spotify"
    recs = []
    for e in entries:
        recs.append(make_record("chart_entry", {
            "chart_id": chart.chart_id, "country": chart.country, "week": week, "rank": e.rank,
            "track_id": e.track_id, "track_name": e.track_name, "artist_names": e.artist_names or None,
            "artist_ids": [a["id"] for a in e.artists if a.get("id")] or None, "streams": e.streams,
            "peak_rank": e.peak_rank, "previous_rank": e.previous_rank, "weeks_on_chart": e.weeks_on_chart,
            "via": via,
        }, source=source, emitted_at=emitted_at))
    tracks = [{"id": e.track_id, "artists": [a for a in e.artists if a.get("id")]} for e in entries]
    recs.extend(collection_records("chart", f"{chart.chart_id}:{week}", f"{chart.name} {week}", tracks,
                                   emitted_at=emitted_at, source=source))
    return recs


def features_records(entries: Iterable[Entry], sources: Sources, *, emitted_at: str,
                     skip: set[str] | None = None) -> list[dict[str, Any]]:
    """``audio_features`` for the entries' tracks not in ``skip`` (``skip`` is updated)."""
    skip = skip if skip is not None else set()
    owner: dict[str, str | None] = {}
    for e in entries:
        if e.track_id not in skip and e.track_id not in owner:
            owner[e.track_id] = next((a["id"] for a in e.artists if a.get("id")), None)
    found = sources.audio_features(list(owner))
    skip.update(owner)
    return [features_record(found[t], owner[t], emitted_at=emitted_at) for t in owner if t in found]


def ingest_csv(chart: Chart, week: str, data: bytes | str, sources: Sources, *, emitted_at: str, name: str = "",
               expected_rows: int | None = 200, skip_features: set[str] | None = None,
               resolve: Callable[[str], str | None] | None = None) -> tuple[list[dict[str, Any]], list[Entry]]:
    """A whole weekly CSV → its records (raises :class:`sori.charts.ChartCSVError` before any is built).
    ``resolve(name) -> artist id | None`` names artists without a Spotify call where it is unambiguous."""
    rows = parse_weekly_csv(data, name=name, expected_rows=expected_rows)
    entries = entries_from_csv(rows, sources.track_artists(
        [r.track_id for r in rows], {r.track_id: r.artist_names for r in rows}, resolve))
    recs = chart_records(chart, week, entries, "csv", emitted_at=emitted_at)
    recs.extend(features_records(entries, sources, emitted_at=emitted_at, skip=skip_features))
    return recs, entries


def run_weekly(charts: list[Chart], week: str, sources: Sources, emit: Emit, *, emitted_at: str,
               progress: Callable[[int, int], None] | None = None,
               resolve: Callable[[str], str | None] | None = None) -> ChartsResult:
    """Every chart for ``week``: Top 50 playlist → weekly CSV → left for an S3 drop. Stops cleanly on quota."""
    res = ChartsResult()
    done_features: set[str] = set()
    for n, chart in enumerate(charts):
        try:
            tracks = sources.chart_playlist(chart.top50_playlist_id)
            if tracks is not None:
                entries, via = entries_from_playlist(tracks), "top50-playlist"
                recs = chart_records(chart, week, entries, via, emitted_at=emitted_at)
                recs.extend(features_records(entries, sources, emitted_at=emitted_at, skip=done_features))
            else:
                data = sources.chart_csv(chart.country, week)
                if data is None:
                    res.charts[chart.country] = "awaiting-drop"
                    continue
                via = "csv"
                recs, entries = ingest_csv(chart, week, data, sources, emitted_at=emitted_at,
                                           name=f"regional-{chart.country}-weekly-{week}.csv",
                                           skip_features=done_features, resolve=resolve)
        except (QuotaExceeded, RateLimited) as e:
            res.stopped = "QUOTA_EXCEEDED" if isinstance(e, QuotaExceeded) else "RATE_LIMITED"
            res.pending = [c.country for c in charts[n:]]
            return res
        emit(recs)
        res.records.update(r["type"] for r in recs)
        res.charts[chart.country] = via
        for entry in entries:
            for a in entry.artists:
                if a.get("id"):
                    res.seen_artists.setdefault(a["id"], a.get("name") or a["id"])
        if progress:
            progress(n + 1, len(charts))
    return res
