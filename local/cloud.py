"""Operating a deployed stack from the CLI: resolve its outputs, set its secrets, read its health.

Pure helpers for ``sori cloud …`` (local/commands/cloud.py). Every AWS call goes through :func:`client`, so
``AWS_ENDPOINT_URL`` (moto in tests) and ``--region`` apply everywhere.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import urllib.parse
from typing import Any, ClassVar

from sori.settings import PLACEHOLDER
from sori.spotify.client import USER_SCOPE

#: Environment variable naming the stack when ``--stack`` is not given.
STACK_ENV = "SORI_STACK"
#: Spotify accounts service (overridable for the emulator and tests).
ACCOUNTS_URL_ENV = "SORI_SPOTIFY_ACCOUNTS_URL"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
#: The header Kakao i Open Builder must send with each skill request (checked by the chatbot handler).
SKILL_HEADER = "X-Skill-Secret"
#: Scopes the user-token producers need (the same list the Spotify client asks for).
LOGIN_SCOPES = tuple(USER_SCOPE.split())
#: Secret outputs and the keys the template gives each.
SECRET_OUTPUTS = ("SpotifySecretArn", "ListeningTokenSecretArn", "MysqlSecretArn", "SkillSecretArn")


def stack_name(name: str | None) -> str:
    """The stack to operate: ``--stack`` when given, else ``$SORI_STACK``; ``ValueError`` when neither is set."""
    found = name or os.environ.get(STACK_ENV, "")
    if not found:
        raise ValueError(f"no stack: pass --stack NAME or set {STACK_ENV}")
    return found


def client(service: str, region: str | None = None, endpoint_url: str | None = None):
    """A boto3 client; ``endpoint_url`` falls back to ``AWS_ENDPOINT_URL`` (boto3 reads it itself when unset)."""
    import boto3

    kwargs: dict[str, Any] = {}
    if region:
        kwargs["region_name"] = region
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return boto3.client(service, **kwargs)


def resolve_stack(name: str | None, region: str | None = None, endpoint_url: str | None = None) -> dict:
    """``{"stack", "region", "endpoint_url", "status", "outputs": {OutputKey: OutputValue}}`` of a deployed stack."""
    name = stack_name(name)
    cfn = client("cloudformation", region, endpoint_url)
    stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    if not stacks:
        raise ValueError(f"stack {name} not found")
    st = stacks[0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}
    return {"stack": name, "region": region or cfn.meta.region_name, "endpoint_url": endpoint_url,
            "status": st.get("StackStatus"), "outputs": outputs}


def output(info: dict, key: str) -> str:
    """One output of a resolved stack; ``KeyError`` naming the stack when the template did not declare it."""
    try:
        return info["outputs"][key]
    except KeyError:
        raise KeyError(f"stack {info['stack']} has no output {key!r}") from None


def _sm(info: dict):
    return client("secretsmanager", info["region"], info["endpoint_url"])


def read_secret(info: dict, output_key: str) -> dict:
    """The JSON object held by the secret an output names (a non-JSON value comes back as ``{"value": …}``)."""
    raw = _sm(info).get_secret_value(SecretId=output(info, output_key))["SecretString"]
    try:
        val = json.loads(raw)
    except ValueError:
        return {"value": raw}
    return val if isinstance(val, dict) else {"value": raw}


def write_secret(info: dict, output_key: str, values: dict) -> None:
    """Merge ``values`` into the secret's JSON object and store it as a new version."""
    current = read_secret(info, output_key)
    current.update(values)
    _sm(info).put_secret_value(SecretId=output(info, output_key), SecretString=json.dumps(current))


def set_credentials(info: dict, client_id: str, client_secret: str) -> None:
    """Store the Spotify app's client credentials in the SpotifySecret."""
    if not client_id or not client_secret:
        raise ValueError("client_id and client_secret must not be empty")
    write_secret(info, "SpotifySecretArn", {"client_id": client_id, "client_secret": client_secret})


def placeholders(info: dict) -> dict[str, list[str]]:
    """Per secret output, the keys that still hold the template's placeholder (empty list: set)."""
    found: dict[str, list[str]] = {}
    for key in SECRET_OUTPUTS:
        if key in info["outputs"]:
            found[key] = sorted(k for k, v in read_secret(info, key).items() if v == PLACEHOLDER)
    return found


def alarm_states(info: dict) -> list[dict]:
    """``[{"name", "state", "reason"}]`` of every alarm named ``<stack>-…``."""
    cw = client("cloudwatch", info["region"], info["endpoint_url"])
    alarms: list[dict] = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{info['stack']}-"):
        for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            alarms.append({"name": a["AlarmName"], "state": a.get("StateValue", ""),
                           "reason": a.get("StateReason", "")})
    return sorted(alarms, key=lambda a: a["name"])


def dlq_depths(info: dict) -> dict[str, int]:
    """``{output key: ApproximateNumberOfMessages}`` for every ``*DLQUrl`` output."""
    sqs = client("sqs", info["region"], info["endpoint_url"])
    depths = {}
    for key, url in sorted(info["outputs"].items()):
        if key.endswith("DLQUrl"):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            depths[key] = int(attrs["Attributes"].get("ApproximateNumberOfMessages", 0))
    return depths


def skill_url(info: dict) -> str:
    """The URL to paste into Open Builder: the ``ChatbotApiUrl`` output, else the stack's HTTP API + POST route.

    The fallback covers a stack whose API lives outside CloudFormation's view (the moto deployment creates the
    HTTP API beside the stack, so that output is dropped there): the API named after the stack, its first POST route.
    """
    if info["outputs"].get("ChatbotApiUrl"):
        return info["outputs"]["ChatbotApiUrl"]
    gw = client("apigatewayv2", info["region"], info["endpoint_url"])
    for api in gw.get_apis().get("Items", []):
        if api.get("Name") != info["stack"]:
            continue
        posts = [r["RouteKey"].split(" ", 1)[1] for r in gw.get_routes(ApiId=api["ApiId"]).get("Items", [])
                 if r.get("RouteKey", "").startswith("POST ")]
        if posts:
            return api.get("ApiEndpoint", "").rstrip("/") + sorted(posts)[0]
    return ""


def status(info: dict) -> dict:
    """Everything ``sori cloud status`` prints: skill URL + header, alarms, DLQ depths, placeholder secrets."""
    skill = read_secret(info, "SkillSecretArn") if "SkillSecretArn" in info["outputs"] else {}
    return {
        "stack": info["stack"],
        "stack_status": info["status"],
        "skill_url": skill_url(info),
        "skill_header": {"name": SKILL_HEADER, "value": skill.get("secret", "")},
        "alarms": alarm_states(info),
        "dlq_depths": dlq_depths(info),
        "placeholders": placeholders(info),
    }


# ------------------------------------------------------------------ login (authorization code + PKCE)

def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, code_challenge)`` per RFC 7636 (S256)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def accounts_url() -> str:
    """The accounts service base URL (``SORI_SPOTIFY_ACCOUNTS_URL`` or Spotify's)."""
    return os.environ.get(ACCOUNTS_URL_ENV, DEFAULT_ACCOUNTS_URL).rstrip("/")


def authorize_url(client_id: str, redirect_uri: str, challenge: str, state: str,
                  scopes: tuple[str, ...] = LOGIN_SCOPES, base: str | None = None) -> str:
    """The ``/authorize`` URL the user opens in a browser."""
    query = urllib.parse.urlencode({
        "client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "code_challenge_method": "S256", "code_challenge": challenge, "state": state, "scope": " ".join(scopes),
    })
    return f"{base or accounts_url()}/authorize?{query}"


def wait_for_callback(server, state: str, timeout: float | None = 300) -> str:
    """Serve requests on ``server`` until ``/callback`` arrives; return its ``code`` (``RuntimeError`` on error)."""
    import time

    result: dict[str, str] = {}
    server.RequestHandlerClass.result = result
    deadline = None if timeout is None else time.monotonic() + timeout
    while not result:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no callback reached the loopback server")
            server.timeout = left
        server.handle_request()  # one request (a favicon probe answers 404 and the loop goes on)
    if result.get("error"):
        raise RuntimeError(f"authorization failed: {result['error']}")
    if result.get("state") != state:
        raise RuntimeError("authorization failed: the callback's state does not match")
    return result["code"]


def callback_server(port: int = 0):
    """An HTTP server on 127.0.0.1 whose handler records the ``/callback`` query (``port`` 0: any free port)."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        result: ClassVar[dict[str, str]] = {}

        def do_GET(self) -> None:
            parsed = urllib.parse.urlparse(self.path)
            if parsed.path != "/callback":
                self.send_response(404)
                self.end_headers()
                return
            query = dict(urllib.parse.parse_qsl(parsed.query))
            self.result.update({k: query.get(k, "") for k in ("code", "state", "error")})
            self.result.setdefault("code", "")
            body = (b"sori: login complete, you can close this tab." if query.get("code")
                    else b"sori: login failed, see the terminal.")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep the terminal clean
            pass

    return HTTPServer(("127.0.0.1", port), Handler)


def exchange_code(code: str, verifier: str, client_id: str, redirect_uri: str, base: str | None = None) -> dict:
    """POST the code to ``/api/token`` (PKCE: no client secret); return the token response."""
    import requests

    resp = requests.post(f"{base or accounts_url()}/api/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "client_id": client_id, "code_verifier": verifier,
    }, timeout=30)
    if resp.status_code != 200:
        raise RuntimeError(f"token exchange failed: HTTP {resp.status_code} {resp.text[:200]}")
    body = resp.json()
    if not body.get("refresh_token"):
        raise RuntimeError("token exchange answered without a refresh_token")
    return body


def store_refresh_token(info: dict, refresh_token: str) -> None:
    """Write the listening user's refresh token into the ListeningTokenSecret."""
    write_secret(info, "ListeningTokenSecretArn", {"refresh_token": refresh_token})


def spotify_client_id(info: dict) -> str:
    """The client_id in the SpotifySecret; ``ValueError`` while it is still the placeholder."""
    cid = read_secret(info, "SpotifySecretArn").get("client_id", "")
    if not cid or cid == PLACEHOLDER:
        raise ValueError(f"the Spotify client_id is not set: run `sori cloud credentials --stack {info['stack']}`")
    return cid
