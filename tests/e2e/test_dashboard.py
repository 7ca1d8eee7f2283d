"""The local dashboard renders offline in headless Chromium: every plot drawn, no console errors, a screenshot.

Chromium runs with every request sent to a dead proxy, so a plot that needed a CDN or a web font would not draw.
Needs Chromium (``apt-get install -y chromium fonts-noto-cjk``); without it the test fails and says so.
The screenshot is kept in ``.sori/artifacts/dashboard.png`` for people to look at.
"""
from __future__ import annotations

import re
import shutil

import pytest

from local import analytics_sample as sample
from local.dashboard import (
    INSTALL_HINT,
    PLOT_IDS,
    Render,
    duckdb_query,
    find_chromium,
    headless_render,
    write_dashboard,
)
from local.stack import sori_home


@pytest.fixture(scope="module")
def chromium():
    try:
        return find_chromium()
    except FileNotFoundError:
        pytest.fail(f"headless Chromium is needed for the dashboard test: {INSTALL_HINT}")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    con = sample.sample_duckdb()
    return write_dashboard(tmp_path_factory.mktemp("dash") / "report.html", duckdb_query(con), source="sample")


def test_dashboard_is_one_self_contained_file(report):
    html = report.read_text(encoding="utf-8")
    # nothing is loaded from elsewhere: no external scripts, stylesheets, fonts or images
    assert not re.search(r"<script[^>]+src=", html, re.I)
    assert not re.search(r"<link[^>]+href=", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html, re.I)
    assert "Plotly.newPlot" in html and html.count("<script") >= len(PLOT_IDS) + 1
    for pid in PLOT_IDS:
        assert f'id="{pid}"' in html


def test_dashboard_renders_offline_in_headless_chromium(chromium, report, tmp_path):
    shot = tmp_path / "dashboard.png"
    render = headless_render(report, screenshot=shot, height=3600)
    assert render.console == [], render.console
    assert render.rendered_plots() == dict.fromkeys(PLOT_IDS, True)
    assert shot.stat().st_size > 50_000  # a real picture, not a blank page
    keep = sori_home() / "artifacts" / "dashboard.png"
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep)


def test_the_render_check_catches_errors_and_undrawn_plots(chromium, tmp_path):
    """The check above can fail: a page with a script error and a plot div plotly never drew."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><section><div id="plot-heatmap"></div></section>'
                   '<script>console.error("boom"); notDefined();</script></body></html>', encoding="utf-8")
    render = headless_render(bad)
    assert any("boom" in line for line in render.console)
    assert any("Uncaught ReferenceError" in line for line in render.console)
    assert render.rendered_plots() == dict.fromkeys(PLOT_IDS, False)
    assert Render(bad.read_text(), [], None).rendered_plots()["plot-heatmap"] is False


def test_importing_one_weekly_csv_adds_the_country_week_to_the_dashboard(tmp_path):
    week = sample.sample_weeks()[-1]
    new = sample.chart_week_records("jp", week, csv_text=sample.chart_csv("jp", week))
    new += sample.features_records([r["data"]["track_id"] for r in new], f"{week}T12:00:00Z", gap_rate=0,
                                   stale_rate=0)
    before = write_dashboard(tmp_path / "before.html", duckdb_query(sample.sample_duckdb()))
    after = write_dashboard(tmp_path / "after.html",
                            duckdb_query(sample.sample_duckdb([*sample.default_sample(), *new])))
    assert "Japan (JP)" not in before.read_text(encoding="utf-8")
    html = after.read_text(encoding="utf-8")
    assert "Japan (JP)" in html  # a heatmap row
    n_before = len(sample.DEFAULT_COUNTRIES) - 1
    assert f"<b>{n_before + 1} + Global</b>" in html and f"<b>{n_before} + Global</b>" in before.read_text()
