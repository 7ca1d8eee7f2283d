"""``sori cloud …`` against template.yaml deployed into moto: the secrets written, the status printed, PKCE login.

Each test deploys a fresh ``sori-cli`` stack (moto reset first) so none depends on another's writes. The login test
answers the loopback callback itself and exchanges the code at a small fake token endpoint (the Spotify emulator
has no ``/authorize``); that endpoint checks the PKCE verifier against the challenge in the printed URL.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
import requests
from typer.testing import CliRunner

from local import cloud as ops
from local.cli import app
from local.provision import deploy

REGION = "ap-northeast-2"
STACK = "sori-cli"


@pytest.fixture()
def stack(moto_url, monkeypatch):
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    d = deploy(moto_url, region=REGION, stack_name=STACK)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("SORI_STACK", raising=False)
    return {"url": moto_url, "outputs": d["outputs"]}


def secret(stack, key: str) -> dict:
    sm = boto3.client("secretsmanager", endpoint_url=stack["url"], region_name=REGION)
    return json.loads(sm.get_secret_value(SecretId=stack["outputs"][key])["SecretString"])


def run(*args, env=None, input=None):
    return CliRunner().invoke(app, ["cloud", *args], env={"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], **(env or {})}, input=input,
                              catch_exceptions=False)


def test_resolve_stack_reads_outputs_and_honours_sori_stack(stack, monkeypatch):
    monkeypatch.setenv("SORI_STACK", STACK)
    info = ops.resolve_stack(None)
    assert info["stack"] == STACK and info["region"] == REGION
    for key in ("SpotifySecretArn", "ListeningTokenSecretArn", "MysqlSecretArn", "SkillSecretArn",
                "DynamoSinkDLQUrl", "RefreshQueueUrl", "LakeBucketName"):
        assert info["outputs"][key] == stack["outputs"][key]
    monkeypatch.delenv("SORI_STACK")
    with pytest.raises(ValueError, match="SORI_STACK"):
        ops.resolve_stack(None)


def test_credentials_from_options_and_from_hidden_prompt(stack):
    r = run("credentials", "--stack", STACK, "--client-id", "cid-1", "--client-secret", "cs-1")
    assert r.exit_code == 0, r.output
    assert secret(stack, "SpotifySecretArn") == {"client_id": "cid-1", "client_secret": "cs-1"}

    r = run("credentials", "--stack", STACK, input="cid-2\ncs-2\n")
    assert r.exit_code == 0, r.output
    assert secret(stack, "SpotifySecretArn") == {"client_id": "cid-2", "client_secret": "cs-2"}
    assert "cs-2" not in r.output  # hidden input is not echoed


def test_status_prints_skill_url_header_alarms_dlq_depths_and_placeholders(stack):
    out = stack["outputs"]
    sqs = boto3.client("sqs", endpoint_url=stack["url"], region_name=REGION)
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=out["DynamoSinkDLQUrl"], MessageBody=body)
    cw = boto3.client("cloudwatch", endpoint_url=stack["url"], region_name=REGION)
    alarms = cw.describe_alarms(AlarmNamePrefix=f"{STACK}-")["MetricAlarms"]
    assert alarms, "the template declares alarms named <stack>-…"
    fired = alarms[0]["AlarmName"]
    cw.set_alarm_state(AlarmName=fired, StateValue="ALARM", StateReason="test")
    run("credentials", "--stack", STACK, "--client-id", "cid", "--client-secret", "cs")

    r = run("status", "--stack", STACK)
    assert r.exit_code == 0, r.output
    skill = secret(stack, "SkillSecretArn")["secret"]
    # moto drops the ChatbotApiUrl output (the HTTP API is created beside the stack): the fallback finds it
    url = out.get("ChatbotApiUrl") or ops.skill_url(ops.resolve_stack(STACK))
    assert url.startswith("http") and url.endswith("/skill") and f"URL    {url}" in r.output
    assert f"X-Skill-Secret: {skill}" in r.output
    assert any(line.split() == ["ALARM", fired] for line in r.output.splitlines())
    assert any(line.split() == ["2", "DynamoSinkDLQUrl"] for line in r.output.splitlines())
    assert "ListeningTokenSecretArn: PLACEHOLDER refresh_token" in r.output
    assert "SpotifySecretArn: set" in r.output

    st = json.loads(run("status", "--stack", STACK, "--json").output)
    assert st["dlq_depths"] == {"DynamoSinkDLQUrl": 2, "ProducerDLQUrl": 0, "RefreshDLQUrl": 0, "S3SinkDLQUrl": 0}
    assert st["placeholders"]["ListeningTokenSecretArn"] == ["refresh_token"]
    assert st["placeholders"]["SpotifySecretArn"] == []
    assert {a["name"]: a["state"] for a in st["alarms"]}[fired] == "ALARM"
    assert st["skill_header"] == {"name": "X-Skill-Secret", "value": skill}


class _FakeTokenServer:
    """``POST /api/token``: records the form and answers a refresh token (the accounts service's PKCE exchange)."""

    def __init__(self):
        forms: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                forms.append(dict(urllib.parse.parse_qsl(self.rfile.read(n).decode())))
                body = json.dumps({"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                                   "refresh_token": "rt-from-pkce"}).encode()
                self.send_response(200 if self.path == "/api/token" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.forms = forms
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_login_pkce_loopback_stores_refresh_token(stack, monkeypatch):
    token = _FakeTokenServer()
    monkeypatch.setenv("SORI_SPOTIFY_ACCOUNTS_URL", token.url)
    run("credentials", "--stack", STACK, "--client-id", "cid-login", "--client-secret", "unused")
    seen: dict = {}
    real = ops.authorize_url

    def authorize_then_browse(*args, **kwargs):
        """Build the URL, then play the browser: hit the redirect URI with a code and the URL's state."""
        url = real(*args, **kwargs)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query))
        seen.update(url=url, query=q)
        cb = f"{q['redirect_uri']}?{urllib.parse.urlencode({'code': 'the-code', 'state': q['state']})}"
        threading.Thread(target=lambda: seen.update(page=requests.get(cb, timeout=10).text), daemon=True).start()
        return url

    monkeypatch.setattr(ops, "authorize_url", authorize_then_browse)
    try:
        r = run("login", "--stack", STACK, "--port", "0", "--timeout", "60")
    finally:
        token.close()
    assert r.exit_code == 0, r.output
    assert seen["url"] in r.output and seen["url"].startswith(f"{token.url}/authorize?")
    q = seen["query"]
    assert q["client_id"] == "cid-login" and q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["redirect_uri"].startswith("http://127.0.0.1:") and q["redirect_uri"].endswith("/callback")
    [form] = token.forms
    assert form["grant_type"] == "authorization_code" and form["code"] == "the-code"
    assert form["client_id"] == "cid-login" and "client_secret" not in form
    assert form["redirect_uri"] == q["redirect_uri"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert challenge.decode() == q["code_challenge"]
    assert secret(stack, "ListeningTokenSecretArn") == {"refresh_token": "rt-from-pkce"}


def test_login_refuses_while_client_id_is_placeholder(stack):
    r = run("login", "--stack", STACK, "--port", "0", "--timeout", "1")
    assert r.exit_code == 1
    assert f"sori cloud credentials --stack {STACK}" in r.output
    assert secret(stack, "ListeningTokenSecretArn") == {"refresh_token": "set-me"}


def test_callback_rejects_a_mismatched_state():
    server = ops.callback_server(0)
    cb = f"http://127.0.0.1:{server.server_address[1]}/callback?code=c&state=forged"
    threading.Thread(target=lambda: requests.get(cb, timeout=10), daemon=True).start()
    try:
        with pytest.raises(RuntimeError, match="state"):
            ops.wait_for_callback(server, "expected", timeout=30)
    finally:
        server.server_close()


def test_unknown_stack_and_missing_stack_name_are_reported(stack):
    r = run("status", "--stack", "no-such-stack")
    assert r.exit_code == 2 and "cannot read stack no-such-stack" in r.output
    r = run("status")
    assert r.exit_code == 2 and "SORI_STACK" in r.output


def test_views_and_queries_use_the_deployed_stacks_athena_workgroup(stack, monkeypatch):
    """Not the default workgroup ``sori``: the template creates ``<stack>-analytics`` (issue 12, item 8)."""
    from local.commands.analytics import _settings

    s = _settings(None, STACK)
    assert s.query_engine == "athena"
    assert s.athena_workgroup == stack["outputs"]["AthenaWorkGroupName"] == f"{STACK}-analytics"
    assert s.glue_database == stack["outputs"]["GlueDatabaseName"]
    assert s.bucket == stack["outputs"]["LakeBucketName"]
    monkeypatch.setenv("SORI_STACK", STACK)
    assert _settings(None).athena_workgroup == f"{STACK}-analytics"
    with pytest.raises(Exception, match="Athena"):
        _settings("duckdb", STACK)
