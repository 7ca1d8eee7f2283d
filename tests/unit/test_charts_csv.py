"""sori.charts: the chart list and the charts.spotify.com weekly-CSV parser (real export quirks)."""
from __future__ import annotations

import datetime as dt
import random
import re
import string

import pytest

from sori.charts import (
    HEADER,
    ChartCSVError,
    chart_for,
    chart_week,
    load_charts,
    parse_chart_filename,
    parse_weekly_csv,
    split_artists,
)

B62 = string.ascii_letters + string.digits


def track_id(rng: random.Random) -> str:
    return "".join(rng.choice(B62) for _ in range(22))


def weekly_export(rows: int = 200, *, bom: bool = True, crlf: bool = True, seed: int = 7) -> bytes:
    """A charts.spotify.com-style export: BOM, CRLF, quoted strings, several artists in one field, quoted streams."""
    rng = random.Random(seed)
    nl = "\r\n" if crlf else "\n"
    artists = ["Bad Bunny", "Taylor Swift", "Tyler, The Creator", "NewJeans", "Peso Pluma", "Karol G", "SZA",
               "뉴진스", "Beyoncé", 'The "Quoted" Band']
    lines = [",".join(HEADER)]
    for rank in range(1, rows + 1):
        names = ", ".join(rng.sample(artists, rng.choice([1, 1, 2, 3])))
        title = rng.choice(["Song", "Canción, con coma", 'Say "Hi"', "노래"]) + f" {rank}"
        streams = f"{rng.randint(200_000, 9_000_000):,}" if rank % 3 == 0 else str(rng.randint(200_000, 9_000_000))
        prev = "-1" if rank % 17 == 0 else str(rng.randint(1, 200))
        q = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731
        lines.append(",".join([str(rank), q("spotify:track:" + track_id(rng)), q(names), q(title),
                               q(rng.choice(["HYBE", "Republic Records", "Rimas Entertainment"])),
                               str(rng.randint(1, rank)), prev, str(rng.randint(1, 50)), q(streams)]))
    text = nl.join(lines) + nl
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def test_chart_list_is_global_plus_61_countries():
    charts = load_charts()
    assert len(charts) == 62 and "global" in charts
    assert chart_for("KR").chart_id == "regional-kr-weekly"
    assert all(c.top50_playlist_id for c in charts.values())
    with pytest.raises(KeyError):
        chart_for("zz")


def test_chart_week_is_the_latest_thursday():
    assert chart_week(dt.date(2026, 11, 19)) == "2026-11-19"  # a Thursday
    assert chart_week(dt.date(2026, 11, 18)) == "2026-11-12"


def test_filename_gives_country_and_week():
    assert parse_chart_filename("landing/charts/regional-kr-weekly-2026-11-19.csv") == ("kr", "2026-11-19")
    assert parse_chart_filename("regional-global-weekly-2026-11-19.csv") == ("global", "2026-11-19")
    assert parse_chart_filename("landing/charts/kr.csv") is None
    assert parse_chart_filename("regional-kr-weekly-2026-13-40.csv") is None


def test_a_real_format_export_gives_200_rows():
    rows = parse_weekly_csv(weekly_export())
    assert len(rows) == 200
    assert [r.rank for r in rows] == list(range(1, 201))
    assert all(len(r.track_id) == 22 for r in rows)
    multi = [r for r in rows if len(r.artist_names) > 1]
    assert multi, "several artists in one quoted field must be split"
    assert any("Tyler, The Creator" in r.artist_names for r in rows)
    assert all(isinstance(r.streams, int) and r.streams >= 200_000 for r in rows)  # "1,234,567" too
    assert any(r.previous_rank is None for r in rows)  # -1 = new entry
    assert any('"' in r.track_name for r in rows) and any("," in r.track_name for r in rows)


@pytest.mark.parametrize("bom,crlf", [(True, True), (False, False), (True, False), (False, True)])
def test_bom_and_line_endings_do_not_matter(bom, crlf):
    a = parse_weekly_csv(weekly_export(bom=bom, crlf=crlf))
    assert a == parse_weekly_csv(weekly_export())


def test_split_artists_keeps_comma_names_whole():
    assert split_artists("Tyler, The Creator, Kali Uchis") == ("Tyler, The Creator", "Kali Uchis")
    assert split_artists("Bad Bunny") == ("Bad Bunny",)


def error_of(data: bytes, **kw) -> ChartCSVError:
    with pytest.raises(ChartCSVError) as e:
        parse_weekly_csv(data, name="regional-kr-weekly-2026-11-19.csv", **kw)
    return e.value


def test_a_file_cut_mid_line_is_rejected_naming_the_line():
    data = weekly_export()
    cut = data[: data.rfind(b"\r\n", 0, len(data) - 2) + 30]  # inside the last row
    err = error_of(cut)
    assert err.line == 201  # header is line 1, rank 200 is line 201
    assert "line 201" in str(err) and "regional-kr-weekly-2026-11-19.csv" in str(err)


def test_a_file_cut_inside_a_quoted_field_is_rejected():
    data = weekly_export()
    idx = data.rfind(b'"spotify:track:')
    err = error_of(data[: idx + 5])
    assert err.line == 201


def test_a_file_cut_at_a_line_end_is_rejected_by_the_row_count():
    data = weekly_export().decode("utf-8-sig")
    short = "\r\n".join(data.split("\r\n")[:151]) + "\r\n"
    err = error_of(short.encode())
    assert "150 rows, expected 200" in str(err)
    assert len(parse_weekly_csv(short.encode(), expected_rows=None)) == 150


def test_malformed_rows_are_named():
    lines = weekly_export().decode("utf-8-sig").split("\r\n")
    bad_uri = lines.copy()
    bad_uri[10] = bad_uri[10].replace("spotify:track:", "spotify:album:")
    assert error_of("\r\n".join(bad_uri).encode()).line == 11
    gap = lines[:5] + lines[6:]
    assert "rank 6 out of order" in str(error_of("\r\n".join(gap).encode()))
    bad_num = lines.copy()
    bad_num[3] = re.sub(r',"[^"]*"$', ',"lots"', bad_num[3])
    err = error_of("\r\n".join(bad_num).encode())
    assert err.line == 4 and "streams" in str(err)


def test_wrong_header_empty_and_non_utf8_files_are_rejected():
    assert "unexpected header" in str(error_of(b"position,uri\r\n1,x\r\n"))
    assert "empty" in str(error_of(b""))
    assert "not UTF-8" in str(error_of(b"\xff\xfe" + "rank".encode("utf-16-le")))
    assert "no chart rows" in str(error_of((",".join(HEADER) + "\r\n").encode()))
