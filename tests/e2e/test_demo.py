"""`sori demo`: the whole flow on the embedded stack answers about BTS with BTS tracks from the catalog."""
from __future__ import annotations

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
    proc = subprocess.run([sys.executable, "-m", "local.cli", "demo", "--limit", "300", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-4000:]
    assert "Kakao 2.0 JSON (HTTP 200)" in text and '"version": "2.0"' in text

    cat = load_catalog()
    bts = cat.find_artist("BTS")
    titles = [t.name for t in cat.top_tracks(bts.id, 10)]
    shown = [t for t in titles if t in text]
    assert len(shown) >= 3, f"BTS tracks from the catalog missing from the reply: {titles}"
    assert out.exists() and out.stat().st_size > 100_000  # the self-contained dashboard (plotly inlined)
    assert not (tmp_path / "home" / "stack.json").exists()  # torn down
