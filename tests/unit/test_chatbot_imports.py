"""The chatbot's cold start: its import graph excludes pandas, pyarrow, awswrangler and numpy."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "awswrangler", "numpy")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_handler_import_graph_excludes_heavy_libraries():
    mods = _modules_after("import chatbot.handler")
    assert "chatbot.handler" in mods and "aws_lambda_powertools.event_handler" in mods
    loaded = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert loaded == []


def test_answering_imports_no_heavy_libraries_either():
    # the adapters the answer path imports lazily (MySQL, DynamoDB, Spotify, SQS) stay lean too
    mods = _modules_after("import chatbot.handler, chatbot.deps, sori.stores.mysql, sori.stores.dynamo, "
                          "sori.spotify.client, boto3, pymysql, spotipy")
    assert sorted(m for m in mods if m.split(".")[0] in HEAVY) == []
