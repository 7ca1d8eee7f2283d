"""`sori demo`: the whole flow on the embedded stack answers about BTS with BTS tracks from the catalog."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_answers_with_bts_tracks(tmp_path, mysql_server_url):
    from local.emulator import load_catalog

    env = dict(os.environ, SORI_HOME=str(tmp_path / "home"), SORI_MYSQL_URL=mysql_server_url, COLUMNS="200")
    env.pop("AWS_ENDPOINT_URL", None)
    out = tmp_path / "report.html"
    # a few hundred artists keep CI quick; `make demo` refreshes the whole catalog
    sori = [sys.executable, "-m", "local.cli"]
    proc = subprocess.run([*sori, "demo", "--keep", "--limit", "300", "--out", str(out)], check=False,
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    text = proc.stdout + proc.stderr
    try:
        assert proc.returncode == 0, text[-4000:]
        # every chart country shows up in the Athena views, run locally by `sori query` over the lake
        charts = (REPO / "sori" / "data" / "charts.csv").read_text().splitlines()[1:]
        for view in ("chart_audio_profile", "persistent_artists", "artist_feature_profile", "listening_summary",
                     "seasonal_trend"):
            q = subprocess.run([*sori, "query", f"SELECT count(*) AS n FROM {view}", "--json"], check=False, cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=300)
            assert q.returncode == 0 and json.loads(q.stdout)[0]["n"] > 0, (view, q.stdout, q.stderr)
        q = subprocess.run([*sori, "query", "SELECT count(DISTINCT country) AS c FROM chart_audio_profile",
                            "--json"], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert json.loads(q.stdout)[0]["c"] == len(charts), q.stdout
    finally:
        subprocess.run([*sori, "down"], check=False, cwd=REPO, env=env, capture_output=True, timeout=120)
    assert "Kakao 2.0 JSON (HTTP 200)" in text and '"version": "2.0"' in text

    cat = load_catalog()
    bts = cat.find_artist("BTS")
    assert bts is not None
    titles = [t.name for t in cat.top_tracks(bts.id, 10)]
    shown = [t for t in titles if t in text]
    assert len(shown) >= 3, f"BTS tracks from the catalog missing from the reply: {titles}"
    assert out.exists() and out.stat().st_size > 100_000  # the self-contained dashboard (plotly inlined)
    assert not (tmp_path / "home" / "stack.json").exists()  # torn down
