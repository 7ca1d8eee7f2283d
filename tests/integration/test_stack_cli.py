"""`sori up` / `sori status --json` / a Kakao POST / `sori down`, as a user runs them (issue: platform)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SORI = [sys.executable, "-m", "local.cli"]

KAKAO = {
    "bot": {"id": "bot1", "name": "sori"},
    "intent": {"id": "i1", "name": "fallback"},
    "action": {"id": "a1", "name": "sori", "params": {}, "detailParams": {}, "clientExtra": {}},
    "userRequest": {"timezone": "Asia/Seoul", "params": {}, "block": {"id": "b1", "name": "fallback"},
                    "utterance": "BTS", "lang": "ko",
                    "user": {"id": "u1", "type": "botUserKey", "properties": {}}},
    "contexts": [],
}


def _sori(*args, env, timeout=300):
    return subprocess.run([*SORI, *args], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _post(url, payload, headers):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _listening(url: str) -> bool:
    p = urlsplit(url)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((p.hostname, p.port)) == 0


@pytest.fixture()
def sori_env(tmp_path, mysql_server_url):
    env = dict(os.environ)
    env["SORI_HOME"] = str(tmp_path / "home")
    env["SORI_MYSQL_URL"] = mysql_server_url  # the per-run server the other tests use
    env.pop("AWS_ENDPOINT_URL", None)
    yield env
    _sori("down", env=env)


def test_up_status_skill_down(sori_env):
    up = _sori("up", env=sori_env)
    assert up.returncode == 0, up.stdout + up.stderr
    st = _sori("status", "--json", env=sori_env)
    assert st.returncode == 0, st.stderr
    info = json.loads(st.stdout)
    for key in ("aws", "mysql", "spotify", "chatbot", "skill_secret"):
        assert info[key], key
    assert json.loads((Path(sori_env["SORI_HOME"]) / "stack.json").read_text())["chatbot"] == info["chatbot"]

    from sori.kakao import validate_response

    status, body = _post(info["chatbot"], KAKAO, {"X-Skill-Secret": info["skill_secret"]})
    assert status == 200 and validate_response(body) == [], body
    assert _post(info["chatbot"], KAKAO, {})[0] == 401
    assert _post(info["chatbot"], KAKAO, {"X-Skill-Secret": "wrong"})[0] == 401

    endpoints = [info["aws"], info["spotify"], info["chatbot"]]
    assert all(_listening(u) for u in endpoints)
    down = _sori("down", env=sori_env)
    assert down.returncode == 0, down.stderr
    assert not any(_listening(u) for u in endpoints), "something of the stack is still listening"
    assert _sori("status", "--json", env=sori_env).returncode == 1
