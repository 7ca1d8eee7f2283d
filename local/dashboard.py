"""The local dashboard: one self-contained HTML file drawn from the analytics views (dev-only).

The same views QuickSight reads in the cloud (``glue/views``) feed four plots — a country × feature heatmap, the
seasonal trend by hemisphere, the audio-feature distributions and the most persistent chart artists — plus the
listening summary when there are plays. plotly.js is inlined once (no CDN, no web fonts): the file opens offline.

>>> from local.analytics_sample import sample_duckdb
>>> con = sample_duckdb()                                   # doctest: +SKIP
>>> html = build_html(fetch_frames(duckdb_query(con)))      # doctest: +SKIP
>>> write_dashboard("report.html", duckdb_query(con))       # doctest: +SKIP

``fetch_frames(query)`` runs the dashboard's queries through ``query(sql) -> DataFrame`` (DuckDB locally, Athena in
the cloud); ``build_html(frames)`` is pure: DataFrames in, HTML out.
"""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

Query = Callable[[str], pd.DataFrame]

#: Korean-friendly font stack (system fonts only: nothing is fetched).
FONT = ("Pretendard, 'Noto Sans KR', 'Apple SD Gothic Neo', 'Malgun Gothic', 'Noto Sans CJK KR', system-ui, "
        "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif")
HEMISPHERE_COLORS = {"north": "#2f6fde", "south": "#e8743b", "global": "#6b7280", "unknown": "#a3a3a3"}
HEMISPHERE_LABELS = {"north": "Northern hemisphere", "south": "Southern hemisphere", "global": "Global chart",
                     "unknown": "Unknown"}
#: The 0–1 features shown as distributions (tempo gets its own panel: another scale).
UNIT_FEATURES = ["danceability", "energy", "valence", "acousticness", "speechiness", "instrumentalness"]
TREND_FEATURES = [("valence", "Valence (positiveness)"), ("energy", "Energy"), ("danceability", "Danceability")]
PLOT_IDS = ("plot-heatmap", "plot-seasonal", "plot-distributions", "plot-artists")

QUERIES = {
    "scores": "SELECT country, country_name, hemisphere, week, feature, feature_order, feature_label, unit, value, "
              "z_score FROM chart_feature_scores",
    "profile": "SELECT country, country_name, hemisphere, week, entries, tracks_with_features "
               "FROM chart_audio_profile",
    "trend": "SELECT hemisphere, week, season, local_season, countries, entries, tracks_with_features, "
             "danceability, energy, valence, tempo FROM seasonal_trend",
    "tracks": "SELECT hemisphere, country, week, " + ", ".join(UNIT_FEATURES) + ", tempo "
              "FROM chart_tracks WHERE rank <= 50 AND danceability IS NOT NULL",
    "artists": "SELECT artist_name, chart_weeks, weeks, charts, entries, tracks, best_rank, streams, "
               "persistence_rank FROM persistent_artists WHERE persistence_rank <= 20",
    "listening": "SELECT user_id, day, plays, unique_tracks, unique_artists, minutes, top_artist, valence, energy "
                 "FROM listening_summary",
}


def duckdb_query(con: Any) -> Query:
    """``query(sql) -> DataFrame`` over a DuckDB connection that has the views installed."""
    return lambda sql: con.sql(sql).df()


def fetch_frames(query: Query) -> dict[str, pd.DataFrame]:
    """Run every dashboard query; DATE columns come back as ``YYYY-MM-DD`` strings."""
    frames = {}
    for name, sql in QUERIES.items():
        df = query(sql)
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]) or c in ("week", "day"):
                df[c] = pd.to_datetime(df[c]).dt.strftime("%Y-%m-%d")
        frames[name] = df
    return frames


# ---------------------------------------------------------------------------------------------- figures

def _layout(fig, title: str, subtitle: str, height: int) -> None:
    fig.update_layout(
        title={"text": f"<b>{html.escape(title)}</b><br><span style='font-size:13px;color:#555'>"
                       f"{html.escape(subtitle)}</span>", "x": 0.01, "xanchor": "left"},
        font={"family": FONT, "size": 13, "color": "#1f2328"}, height=height, template="plotly_white",
        margin={"l": 70, "r": 30, "t": 90, "b": 60}, paper_bgcolor="white", plot_bgcolor="white",
        hoverlabel={"font": {"family": FONT}})


def _fmt(value: float, feature: str) -> str:
    if pd.isna(value):
        return ""
    if feature == "tempo":
        return f"{value:.0f}"
    if feature == "loudness":
        return f"{value:.1f}"
    if feature == "major_share":
        return f"{value:.0%}"
    return f"{value:.2f}"


def heatmap_figure(scores: pd.DataFrame):
    """Country × feature: colour = z-score against the other countries (averaged over weeks), text = the value."""
    import plotly.graph_objects as go

    agg = (scores.groupby(["country", "country_name", "hemisphere", "feature", "feature_order", "feature_label",
                           "unit"], dropna=False)
           .agg(value=("value", "mean"), z=("z_score", "mean"), weeks=("week", "nunique")).reset_index())
    features = agg.drop_duplicates("feature").sort_values("feature_order")
    order = {"global": 0, "north": 1, "south": 2}
    countries = (agg.drop_duplicates("country")
                 .assign(o=lambda d: d["hemisphere"].map(order).fillna(3))
                 .sort_values(["o", "country_name"], ascending=[True, True]))
    rows = [f"{r.country_name} ({r.country.upper()})" if r.country != "global" else "Global"
            for r in countries.itertuples()]
    cols = [f"{r.feature_label.split(' (')[0].replace('-key ', '-key<br>')}<br>"
            f"<span style='font-size:11px;color:#666'>{r.unit}</span>" for r in features.itertuples()]
    pivot = agg.pivot_table(index="country", columns="feature", values="z", dropna=False)
    vals = agg.pivot_table(index="country", columns="feature", values="value", dropna=False)
    weeks = agg.groupby("country")["weeks"].max()
    z, text, hover = [], [], []
    for c, label in zip(countries["country"], rows, strict=False):
        zr, tr, hr = [], [], []
        for f in features.itertuples():
            zv = pivot.at[c, f.feature] if f.feature in pivot.columns else float("nan")
            v = vals.at[c, f.feature] if f.feature in vals.columns else float("nan")
            zr.append(None if pd.isna(zv) else round(float(zv), 3))
            tr.append(_fmt(v, f.feature))
            hr.append(f"{label}<br>{f.feature_label}: {_fmt(v, f.feature)} {f.unit if f.unit != '0–1' else ''}"
                      f"<br>z = {'' if pd.isna(zv) else f'{zv:+.2f}'} (vs. other countries, "
                      f"{int(weeks.get(c, 0))} week{'s' if weeks.get(c, 0) != 1 else ''})")
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    fig = go.Figure(go.Heatmap(
        z=z, x=cols, y=rows, text=text, texttemplate="%{text}", textfont={"size": 11}, hovertext=hover,
        hoverinfo="text", colorscale="RdBu", reversescale=True, zmid=0, zmin=-2.5, zmax=2.5, xgap=2, ygap=2,
        colorbar={"title": {"text": "z-score<br>vs. other<br>countries"}, "thickness": 14}))
    fig.update_yaxes(autorange="reversed", tickfont={"size": 12})
    fig.update_xaxes(side="top", tickangle=0)
    _layout(fig, "What each country's top 50 sounds like",
            "Average over the chart weeks in the lake. Colour: how far a country sits from the others (z-score); "
            "numbers: the feature itself.", height=max(360, 130 + 26 * len(rows)))
    fig.update_layout(margin={"t": 150})
    return fig


def _season_bands(fig, weeks: list[str], rows: int) -> None:
    """Shade December–February (DJF) and June–August (JJA) behind the trend lines."""
    if not weeks:
        return
    lo, hi = pd.Timestamp(min(weeks)) - pd.Timedelta(days=10), pd.Timestamp(max(weeks)) + pd.Timedelta(days=10)
    for year in range(lo.year - 1, hi.year + 1):
        for start, end, color, label in (
                (f"{year}-12-01", f"{year + 1}-03-01", "rgba(47,111,222,0.08)", "DJF"),
                (f"{year + 1}-06-01", f"{year + 1}-09-01", "rgba(232,116,59,0.09)", "JJA")):
            s, e = max(pd.Timestamp(start), lo), min(pd.Timestamp(end), hi)
            if s >= e:
                continue
            for r in range(1, rows + 1):
                fig.add_vrect(x0=s, x1=e, fillcolor=color, line_width=0, layer="below", row=r, col=1)
            fig.add_annotation(x=s + (e - s) / 2, y=1.0, xref="x", yref="paper", text=label, showarrow=False,
                               font={"size": 11, "color": "#555"}, yanchor="bottom")


def seasonal_figure(trend: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=len(TREND_FEATURES), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[label for _, label in TREND_FEATURES])
    trend = trend.sort_values("week")
    for i, (feature, label) in enumerate(TREND_FEATURES, start=1):
        for hemi in ("north", "south", "global"):
            d = trend[trend["hemisphere"] == hemi]
            if d.empty:
                continue
            fig.add_trace(go.Scatter(
                x=pd.to_datetime(d["week"]), y=d[feature], mode="lines+markers", name=HEMISPHERE_LABELS[hemi],
                legendgroup=hemi, showlegend=i == 1,
                line={"color": HEMISPHERE_COLORS[hemi], "width": 2.5, "dash": "dot" if hemi == "global" else None},
                marker={"size": 7},
                customdata=list(zip(d["season"], d["local_season"].fillna("—"), d["countries"],
                                    d["tracks_with_features"], strict=False)),
                hovertemplate=(f"{HEMISPHERE_LABELS[hemi]}<br>week of %{{x|%Y-%m-%d}} (%{{customdata[0]}}, "
                               f"local %{{customdata[1]}})<br>{label}: %{{y:.3f}}<br>%{{customdata[2]}} charts, "
                               "%{customdata[3]} tracks<extra></extra>")), row=i, col=1)
        fig.update_yaxes(title_text="0–1", row=i, col=1)
    weeks = sorted(trend["week"].unique())
    _season_bands(fig, weeks, len(TREND_FEATURES))
    pad = pd.Timedelta(days=10)
    fig.update_xaxes(range=[pd.Timestamp(weeks[0]) - pad, pd.Timestamp(weeks[-1]) + pad])
    note = "" if len(weeks) > 1 else " Only one chart week so far: lines appear as more weeks arrive."
    _layout(fig, "Seasonal trend by hemisphere",
            "Top-50 averages per chart week. Shaded: DJF (northern winter = southern summer) and JJA." + note,
            height=760)
    fig.update_layout(legend={"orientation": "h", "y": -0.08, "x": 0})
    return fig


def distributions_figure(tracks: pd.DataFrame):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.72, 0.28], horizontal_spacing=0.08,
                        subplot_titles=["0–1 features of top-50 tracks", "Tempo (BPM)"])
    for hemi in ("north", "south", "global"):
        d = tracks[tracks["hemisphere"] == hemi]
        if d.empty:
            continue
        long = d.melt(value_vars=UNIT_FEATURES, var_name="feature", value_name="value").dropna()
        fig.add_trace(go.Box(x=long["feature"].str.capitalize(), y=long["value"], name=HEMISPHERE_LABELS[hemi],
                             legendgroup=hemi, marker={"color": HEMISPHERE_COLORS[hemi], "size": 3},
                             boxpoints=False, line={"width": 1.5}), row=1, col=1)
        fig.add_trace(go.Histogram(x=d["tempo"], name=HEMISPHERE_LABELS[hemi], legendgroup=hemi, showlegend=False,
                                   marker={"color": HEMISPHERE_COLORS[hemi]}, opacity=0.55,
                                   xbins={"start": 50, "end": 220, "size": 10}, histnorm="percent",
                                   hovertemplate="%{x} BPM: %{y:.1f}% of entries<extra></extra>"), row=1, col=2)
    fig.update_layout(boxmode="group", barmode="overlay")
    fig.update_yaxes(range=[0, 1], title_text="value (0–1)", row=1, col=1)
    fig.update_yaxes(title_text="% of chart entries", row=1, col=2)
    fig.update_xaxes(title_text="BPM", row=1, col=2)
    _layout(fig, "Feature distributions",
            f"Every top-50 chart entry with audio features ({len(tracks):,} entries), by hemisphere.", height=520)
    fig.update_layout(legend={"orientation": "h", "y": -0.15, "x": 0})
    return fig


def artists_figure(artists: pd.DataFrame):
    import plotly.graph_objects as go

    a = artists.sort_values(["persistence_rank", "artist_name"]).head(20).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=a["chart_weeks"], y=a["artist_name"], orientation="h", marker={"color": "#1db954"},
        text=[f"{r.charts} chart{'s' if r.charts != 1 else ''} · best #{r.best_rank}" for r in a.itertuples()],
        textposition="outside", cliponaxis=False,
        customdata=list(zip(a["weeks"], a["entries"], a["tracks"], a["streams"].fillna(0), strict=False)),
        hovertemplate=("<b>%{y}</b><br>%{x} chart-weeks in a top 50<br>%{customdata[0]} distinct weeks, "
                       "%{customdata[1]} entries, %{customdata[2]} tracks<br>%{customdata[3]:,} streams"
                       "<extra></extra>")))
    fig.update_xaxes(title_text="chart-weeks in a top 50 (charts × weeks)",
                     range=[0, max(1, a["chart_weeks"].max() if len(a) else 1) * 1.25])
    fig.update_yaxes(tickfont={"size": 12})
    _layout(fig, "Most persistent chart artists",
            "Top 20 by the number of (chart, week) top 50s they appear in, featured artists included.",
            height=max(360, 120 + 28 * len(a)))
    fig.update_layout(margin={"l": 160})
    return fig


def listening_figure(listening: pd.DataFrame):
    import plotly.graph_objects as go

    d = listening.sort_values("day")
    fig = go.Figure(go.Bar(
        x=d["day"], y=d["minutes"], marker={"color": "#8b5cf6"},
        text=[f"{r.plays} plays · top: {r.top_artist or '—'}" for r in d.itertuples()], textposition="outside",
        cliponaxis=False, hovertemplate="%{x}: %{y:.0f} min<br>%{text}<extra></extra>"))
    fig.update_yaxes(title_text="minutes listened", range=[0, max(1.0, float(d["minutes"].max() or 0)) * 1.25])
    fig.update_xaxes(type="category", title_text="day (UTC)")
    _layout(fig, "Listening summary", "Minutes per day (UTC) and the most played artist.", height=340)
    return fig


# ---------------------------------------------------------------------------------------------- page

@dataclass
class Section:
    div_id: str
    figure: Any = None
    note: str = ""
    extra: dict = field(default_factory=dict)


def _summary(frames: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    prof = frames["profile"]
    if prof.empty:
        return [("chart weeks", "0")]
    countries = prof[prof["country"] != "global"]["country"].nunique()
    weeks = sorted(prof["week"].unique())
    coverage = prof["tracks_with_features"].sum() / max(1, prof["entries"].sum())
    return [("countries", f"{countries}" + (" + Global" if (prof["country"] == "global").any() else "")),
            ("chart weeks", f"{len(weeks)}"), ("from", weeks[0]), ("to", weeks[-1]),
            ("country-weeks", f"{len(prof):,}"), ("audio-feature coverage", f"{coverage:.0%}")]


def sections(frames: dict[str, pd.DataFrame]) -> list[Section]:
    """The page's plots; a plot whose view has no rows yet becomes a note saying so."""
    empty = "No rows in {} yet: run the weekly charts (sori run weekly) or drop a chart CSV into landing/charts/."
    out = [
        Section("plot-heatmap", heatmap_figure(frames["scores"]) if not frames["scores"].empty else None,
                empty.format("chart_feature_scores")),
        Section("plot-seasonal", seasonal_figure(frames["trend"]) if not frames["trend"].empty else None,
                empty.format("seasonal_trend")),
        Section("plot-distributions",
                distributions_figure(frames["tracks"]) if not frames["tracks"].empty else None,
                empty.format("chart_tracks")),
        Section("plot-artists", artists_figure(frames["artists"]) if not frames["artists"].empty else None,
                empty.format("persistent_artists")),
    ]
    if not frames["listening"].empty:
        out.append(Section("plot-listening", listening_figure(frames["listening"])))
    return out


_CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; font-family: %(font)s; color: #1f2328; }
header { background: linear-gradient(120deg, #121212 0%%, #1d3b2a 100%%); color: #fff; padding: 28px 40px 24px; }
header h1 { margin: 0 0 6px; font-size: 28px; letter-spacing: -0.01em; }
header p { margin: 0; color: #cfd8d3; font-size: 14px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 18px; }
.kpi { background: rgba(255,255,255,0.08); border-radius: 10px; padding: 10px 16px; min-width: 110px; }
.kpi b { display: block; font-size: 20px; color: #1ed760; }
.kpi span { font-size: 12px; color: #cfd8d3; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 24px 48px; }
.card { background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(0,0,0,0.08); margin: 0 0 24px; padding: 8px; }
.note { padding: 28px; color: #555; font-size: 15px; }
footer { color: #666; font-size: 12px; text-align: center; padding: 0 24px 32px; }
"""


def build_html(frames: dict[str, pd.DataFrame], *, title: str = "sori — what the world's charts sound like",
               generated_at: str | None = None, source: str = "") -> str:
    """The whole page as one string: inline CSS, plotly.js inlined once, one div per plot."""
    from plotly.offline import get_plotlyjs

    generated_at = generated_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    kpis = "".join(f"<div class='kpi'><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>"
                   for k, v in _summary(frames))
    config = {"displaylogo": False, "responsive": True,
              "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
    body = []
    for s in sections(frames):
        if s.figure is None:
            body.append(f"<section class='card' id='{s.div_id}-card'><div class='note'>{html.escape(s.note)}"
                        "</div></section>")
            continue
        div = s.figure.to_html(full_html=False, include_plotlyjs=False, div_id=s.div_id, config=config)
        body.append(f"<section class='card'>{div}</section>")
    meta = html.escape(f"Generated {generated_at}" + (f" from {source}" if source else ""))
    return f"""<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS % {"font": FONT}}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p>Danceability, energy, valence, instrumentalness, tempo and mode of every country's weekly top 50 — the Athena
views in glue/views, here drawn from the local lake. {meta}.</p>
<div class="kpis">{kpis}</div>
</header>
<main>
{chr(10).join(body)}
</main>
<footer>sori · plots: plotly (inlined: this file works offline) · data: Spotify weekly charts and audio
features</footer>
</body>
</html>
"""


def write_dashboard(out: str | Path, query: Query, *, source: str = "") -> Path:
    """Fetch the views through ``query`` and write the page to ``out``; returns the absolute path."""
    path = Path(out).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_html(fetch_frames(query), source=source), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- headless check

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install it with: apt-get update && apt-get install -y chromium fonts-noto-cjk"


@dataclass
class Render:
    """What headless Chromium made of a page: the DOM after scripts ran, console lines, the screenshot."""

    dom: str
    console: list[str]
    screenshot: Path | None

    def rendered_plots(self, ids=PLOT_IDS) -> dict[str, bool]:
        """For each plot div id: whether plotly drew an ``svg.main-svg`` inside it (between its opening tag
        and the next section)."""
        out = {}
        for pid in ids:
            start = self.dom.find(f'<div id="{pid}"')
            end = self.dom.find("<section", start + 1) if start >= 0 else -1
            chunk = self.dom[start:end if end > 0 else len(self.dom)] if start >= 0 else ""
            out[pid] = 'class="main-svg"' in chunk
        return out


def find_chromium() -> str:
    """The Chromium binary (``SORI_CHROMIUM`` or the first of :data:`CHROMIUM_NAMES` on PATH)."""
    import os
    import shutil

    for name in (os.environ.get("SORI_CHROMIUM"), *CHROMIUM_NAMES):
        found = shutil.which(name) if name else None
        if found:
            return found
    raise FileNotFoundError(f"no Chromium found ({', '.join(CHROMIUM_NAMES)}); {INSTALL_HINT}")


def headless_render(page: str | Path, *, screenshot: str | Path | None = None, width: int = 1400,
                    height: int = 3600, budget_ms: int = 10000, timeout: float = 120) -> Render:
    """Open ``page`` in headless Chromium with every network request sent to a dead proxy (so anything that
    needs the internet fails), let scripts run for ``budget_ms`` of virtual time, and return the DOM, the
    console lines (errors and uncaught exceptions appear there) and, if asked, a screenshot."""
    import re
    import subprocess
    import tempfile

    url = Path(page).resolve().as_uri()
    base = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            "--disable-dev-shm-usage", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr", "--v=0", f"--virtual-time-budget={budget_ms}",
            f"--window-size={width},{height}"]
    with tempfile.TemporaryDirectory(prefix="sori-chromium-") as profile:
        run = subprocess.run([*base, f"--user-data-dir={profile}", "--dump-dom", url], check=False, capture_output=True,
                             text=True, timeout=timeout)
        if run.returncode != 0:
            raise RuntimeError(f"chromium exited {run.returncode}: {run.stderr[-2000:]}")
        console = [m.group(1) for m in re.finditer(r":CONSOLE[^\]]*\] (.*)", run.stderr)]
        shot = None
        if screenshot is not None:
            shot = Path(screenshot).resolve()
            shot.parent.mkdir(parents=True, exist_ok=True)
            snap = subprocess.run([*base, f"--user-data-dir={profile}", f"--screenshot={shot}", url], check=False,
                                  capture_output=True, text=True, timeout=timeout)
            if snap.returncode != 0 or not shot.exists():
                raise RuntimeError(f"chromium screenshot failed ({snap.returncode}): {snap.stderr[-2000:]}")
    return Render(dom=run.stdout, console=console, screenshot=shot)
