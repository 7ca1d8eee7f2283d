"""The local webhook delivers API Gateway HTTP API v2 events and maps responses back like API Gateway."""
import json
import urllib.error
import urllib.request

import pytest

from local.webhook import WebhookServer, http_api_event


def _post(url, body: bytes, headers=None):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_event_shape_is_http_api_v2():
    ev = http_api_event("POST", "/skill?x=1", {"X-Skill-Secret": "s", "Content-Type": "application/json"},
                        b'{"a":1}', "127.0.0.1", "POST /skill")
    assert ev["version"] == "2.0" and ev["routeKey"] == "POST /skill"
    assert ev["rawPath"] == "/skill" and ev["rawQueryString"] == "x=1"
    assert ev["headers"]["x-skill-secret"] == "s"  # API Gateway lower-cases header names
    assert ev["requestContext"]["http"]["method"] == "POST"
    assert ev["body"] == '{"a":1}' and ev["isBase64Encoded"] is False
    assert http_api_event("POST", "/skill", {}, b"\xff\xfe", "127.0.0.1", "POST /skill")["isBase64Encoded"]


@pytest.fixture()
def server():
    seen = []

    def handler(event, ctx):
        seen.append(event)
        if event["body"] == "boom":
            raise RuntimeError("handler crashed")
        return {"statusCode": 201, "headers": {"content-type": "application/json"},
                "body": json.dumps({"echo": event["body"], "fn": ctx.function_name})}

    srv = WebhookServer(handler, function_name="ChatbotFunction").start()
    yield srv, seen
    srv.stop()


def test_round_trip_and_errors(server):
    srv, seen = server
    status, _headers, body = _post(srv.url + "/skill", "안녕".encode(), {"X-Skill-Secret": "k"})
    assert status == 201 and json.loads(body) == {"echo": "안녕", "fn": "ChatbotFunction"}
    assert seen[-1]["headers"]["x-skill-secret"] == "k"
    assert _post(srv.url + "/other", b"{}")[0] == 404
    status, _, body = _post(srv.url + "/skill", b"boom")
    assert status == 500 and json.loads(body)["message"] == "Internal Server Error"


def test_stop_closes_the_port(server):
    srv, _ = server
    url = srv.url
    srv.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/health", timeout=2)
