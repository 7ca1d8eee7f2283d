"""The chart list (``sori/data/charts.csv``: Global + 61 countries) and the charts.spotify.com weekly-CSV parser.

>>> charts = load_charts()
>>> len(charts), charts["global"].chart_id
(62, 'regional-global-weekly')
>>> parse_chart_filename("landing/charts/regional-kr-weekly-2026-11-19.csv")
('kr', '2026-11-19')

A weekly export looks like (UTF-8 BOM and CRLF possible, several artists in one quoted field, quoted numbers)::

    rank,uri,artist_names,track_name,source,peak_rank,previous_rank,weeks_on_chart,streams
    1,spotify:track:0V3wPSX9ygBnCm8psDIegu,"Taylor Swift, Ed Sheeran",The Joker And The Queen,...,"1,234,567"

:func:`parse_weekly_csv` reads the whole file before returning anything and raises :class:`ChartCSVError` naming
the line for the first problem, so a truncated or malformed file is rejected whole, never half-ingested.
Stdlib only.
"""
from __future__ import annotations

import csv
import datetime as _dt
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

HEADER = ("rank", "uri", "artist_names", "track_name", "source", "peak_rank", "previous_rank", "weeks_on_chart",
          "streams")
ROWS_PER_WEEK = 200
_FILENAME = re.compile(r"regional-([a-z]{2}|global)-weekly-(\d{4}-\d{2}-\d{2})\.csv$", re.I)
_TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
#: Artists whose own name contains ", " — kept whole when splitting the comma-joined ``artist_names`` field.
COMMA_NAMES = ("Tyler, The Creator", "Earth, Wind & Fire", "Crosby, Stills, Nash & Young",
               "Crosby, Stills & Nash", "Peter, Paul and Mary", "Emerson, Lake & Palmer")


@dataclass(frozen=True)
class Chart:
    chart_id: str
    country: str
    name: str
    hemisphere: str
    top50_playlist_id: str


@dataclass(frozen=True)
class ChartRow:
    rank: int
    track_id: str
    artist_names: tuple[str, ...]
    track_name: str
    source: str
    peak_rank: int | None
    previous_rank: int | None
    weeks_on_chart: int | None
    streams: int | None


class ChartCSVError(ValueError):
    """A chart CSV that cannot be ingested. ``line`` is the 1-based physical line of the problem (0: whole file)."""

    def __init__(self, message: str, line: int = 0, name: str = ""):
        where = f"{name or 'chart CSV'}" + (f" line {line}" if line else "")
        super().__init__(f"{where}: {message}")
        self.line = line
        self.reason = message


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Chart, ...]:
    text = resources.files("sori").joinpath("data/charts.csv").read_text(encoding="utf-8")
    return tuple(Chart(r["chart_id"], r["country"], r["name"], r["hemisphere"], r["top50_playlist_id"])
                 for r in csv.DictReader(io.StringIO(text)))


def load_charts() -> dict[str, Chart]:
    """Every chart keyed by country code (``global`` for the Global chart), in file order."""
    return {c.country: c for c in _load()}


def chart_for(country: str) -> Chart:
    """The chart of a country code (case-insensitive); ``KeyError`` for a country we do not track."""
    charts = load_charts()
    cc = country.strip().lower()
    if cc not in charts:
        raise KeyError(f"no chart for country {country!r} (known: {', '.join(sorted(charts))})")
    return charts[cc]


def chart_week(day: _dt.date) -> str:
    """The charts.spotify.com week date for ``day``: the most recent Thursday on or before it.

    >>> chart_week(_dt.date(2026, 11, 22))
    '2026-11-19'
    """
    return (day - _dt.timedelta(days=(day.weekday() - 3) % 7)).isoformat()


def parse_chart_filename(name: str) -> tuple[str, str] | None:
    """``(country, week)`` from ``…/regional-<cc>-weekly-<YYYY-MM-DD>.csv``, or None when the name has no match."""
    m = _FILENAME.search(name)
    if not m:
        return None
    try:
        _dt.date.fromisoformat(m.group(2))
    except ValueError:
        return None
    return m.group(1).lower(), m.group(2)


def split_artists(field: str) -> tuple[str, ...]:
    """Split the comma-joined ``artist_names`` field, keeping names that contain a comma whole.

    >>> split_artists("Tyler, The Creator, Kali Uchis")
    ('Tyler, The Creator', 'Kali Uchis')
    """
    text = field.strip()
    keep = {}
    for i, name in enumerate(COMMA_NAMES):
        if name in text:
            token = f"\x00{i}\x00"
            keep[token] = name
            text = text.replace(name, token)
    parts = [p.strip() for p in text.split(",")]
    out = []
    for part in parts:
        p = part
        for token, name in keep.items():
            p = p.replace(token, name)
        if p:
            out.append(p)
    return tuple(out)


def _int(value: str, column: str, line: int, name: str, *, optional: bool) -> int | None:
    v = value.strip().replace(",", "")
    if v in ("", "-", "—"):
        if optional:
            return None
        raise ChartCSVError(f"{column} is empty", line, name)
    try:
        n = int(v)
    except ValueError:
        raise ChartCSVError(f"{column} is not a number: {value!r}", line, name) from None
    return None if optional and n < 0 else n  # previous_rank -1 = new entry


def _csv_text(data: bytes | str, name: str) -> str:
    """The export as text: UTF-8 (a BOM dropped), or :class:`ChartCSVError` when undecodable or empty."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ChartCSVError(f"not UTF-8 ({e.reason} at byte {e.start})", 0, name) from None
    else:
        text = data[1:] if data.startswith("\ufeff") else data
    if not text.strip():
        raise ChartCSVError("file is empty", 0, name)
    return text


def _chart_row(record: list[str], rank_expected: int, start: int, name: str) -> ChartRow:
    """One data record of the export as a :class:`ChartRow`, or :class:`ChartCSVError` naming its line."""
    if len(record) != len(HEADER):
        raise ChartCSVError(f"expected {len(HEADER)} fields, found {len(record)} (truncated or malformed row)",
                            start, name)
    f = dict(zip(HEADER, record, strict=True))
    rank = _int(f["rank"], "rank", start, name, optional=False)
    if rank != rank_expected:
        raise ChartCSVError(f"rank {rank} out of order (expected {rank_expected})", start, name)
    m = _TRACK_URI.match(f["uri"].strip())
    if not m:
        raise ChartCSVError(f"uri is not a spotify:track uri: {f['uri']!r}", start, name)
    artists = split_artists(f["artist_names"])
    if not artists:
        raise ChartCSVError("artist_names is empty", start, name)
    return ChartRow(
        rank=rank, track_id=m.group(1), artist_names=artists, track_name=f["track_name"].strip(),
        source=f["source"].strip(),
        peak_rank=_int(f["peak_rank"], "peak_rank", start, name, optional=True),
        previous_rank=_int(f["previous_rank"], "previous_rank", start, name, optional=True),
        weeks_on_chart=_int(f["weeks_on_chart"], "weeks_on_chart", start, name, optional=True),
        streams=_int(f["streams"], "streams", start, name, optional=False),
    )


def parse_weekly_csv(data: bytes | str, *, name: str = "", expected_rows: int | None = ROWS_PER_WEEK
                     ) -> list[ChartRow]:
    """Parse a whole charts.spotify.com weekly export; every row or :class:`ChartCSVError` naming the line.

    Checks: the header, nine fields per row, a ``spotify:track:<id>`` uri, numeric columns, ranks 1..N in order
    (a gap or a cut-off last line is caught), and N == ``expected_rows`` when given (a file truncated exactly at
    a line end is caught too). ``name`` (the object key) only labels error messages.
    """
    text = _csv_text(data, name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[ChartRow] = []
    header_seen = False
    line = 1
    try:
        for record in reader:
            start = line
            line = reader.line_num + 1  # next record starts after the physical lines consumed so far
            if not record or all(not c.strip() for c in record):
                continue
            if not header_seen:
                cols = tuple(c.strip().lower() for c in record)
                if cols != HEADER:
                    raise ChartCSVError(f"unexpected header {','.join(record)!r}; expected {','.join(HEADER)!r}",
                                        start, name)
                header_seen = True
                continue
            rows.append(_chart_row(record, len(rows) + 1, start, name))
    except csv.Error as e:
        raise ChartCSVError(f"malformed CSV ({e})", line, name) from None
    if not header_seen:
        raise ChartCSVError("no header row", 1, name)
    if not rows:
        raise ChartCSVError("no chart rows after the header", 2, name)
    if expected_rows is not None and len(rows) != expected_rows:
        raise ChartCSVError(f"has {len(rows)} rows, expected {expected_rows} (truncated?)", line, name)
    return rows
