"""The webhook through the Lambda handler with API Gateway HTTP API v2 events: 401, 400 (with Kakao JSON), 200."""
from __future__ import annotations

import base64
import json

import pytest
from test_chatbot_fakes import FakeBackend, fake_webhook_backend, skill_payload

import chatbot.app as app_mod
import chatbot.deps as deps
from chatbot.handler import lambda_handler
from local.lambda_context import LocalLambdaContext
from local.webhook import http_api_event
from sori.kakao import validate_response

SECRET = "s3cret-skill-value"


class Untouchable:
    """A backend that fails the test if anything reaches it."""

    def __getattr__(self, name):
        raise AssertionError(f"backend.{name} touched")


@pytest.fixture()
def backend(monkeypatch):
    with fake_webhook_backend(monkeypatch, SECRET) as b:
        yield b


def call(body, headers=None, *, path="/skill", method="POST", b64=False):
    raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    ev = http_api_event(method, path, headers or {}, raw, "127.0.0.1", f"{method} /skill")
    if b64:
        ev["body"], ev["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    res = lambda_handler(ev, LocalLambdaContext(function_name="ChatbotFunction", timeout_s=10))
    return res["statusCode"], json.loads(res["body"]) if res.get("body") else None, res.get("headers") or {}


@pytest.mark.parametrize("headers", [{}, {"X-Skill-Secret": "wrong"}, {"X-Skill-Secret": ""},
                                     {"X-Skill-Secret": SECRET + "x"}, {"X-Other": SECRET}])
def test_missing_or_wrong_secret_is_401_without_touching_any_store(headers, backend, monkeypatch):
    monkeypatch.setattr(deps, "_backend", Untouchable())
    status, body, _ = call(skill_payload("BTS"), headers)
    assert status == 401 and body["error"] == "unauthorized"


def test_no_secret_configured_rejects_everything(backend, monkeypatch):
    monkeypatch.delenv("SORI_SKILL_SECRET")
    app_mod._secret.cache_clear()
    monkeypatch.setattr(deps, "_backend", Untouchable())
    assert call(skill_payload("BTS"), {"X-Skill-Secret": ""})[0] == 401


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"[]", b"42", b'"text"', b"{}", b'{"userRequest": "x"}',
                                  b"\xff\xfe\x00", b"[" * 50_000])
def test_non_json_or_non_kakao_is_400_with_valid_kakao_json_and_the_reason(body, backend):
    # new contract (issue 14 item 6): even a 400 carries valid Kakao JSON; the reason rides in ``data``
    status, out, headers = call(body, {"x-skill-secret": SECRET})
    assert status == 400
    assert validate_response(out) == [], out
    assert out["data"]["error"] == "bad_request" and out["data"]["reason"]
    assert headers["Content-Type"].startswith("application/json")


# These were 400 before issue 14 item 6: a Kakao payload whose optional parts are oddly shaped, or whose
# utterance cannot be read, is answered (200) with a valid reply (the help text when there is no utterance).
@pytest.mark.parametrize("body", [
    b'{"userRequest": {}}', b'{"userRequest": {"utterance": 5}}', b'{"userRequest": {"utterance": null}}',
    b'{"userRequest": {"utterance": "BTS", "lang": null}, "action": {"clientExtra": ""}}',
    b'{"userRequest": {"utterance": "BTS"}, "action": {"clientExtra": []}}',
    b'{"userRequest": {"utterance": "BTS"}, "action": {"clientExtra": "not json"}}',
    b'{"userRequest": {"utterance": "BTS", "params": "surface=Kakaotalk.plusfriend"}}',
    b'{"userRequest": {"utterance": "BTS", "user": "u", "block": 3}, "contexts": {}, "bot": "b"}',
])
def test_odd_kakao_payloads_are_200_with_a_valid_reply(body, backend):
    status, out, _ = call(body, {"x-skill-secret": SECRET})
    assert status == 200, out
    assert validate_response(out) == [], out


def test_valid_payload_is_200_with_valid_kakao_json(backend):
    status, out, headers = call(skill_payload("BLACKPINK 같은 가수 추천해줘"), {"X-Skill-Secret": SECRET})
    assert status == 200 and validate_response(out) == []
    assert out["template"]["outputs"][1]["carousel"]["items"][0]["header"]["title"] == "BLACKPINK"
    assert headers["Content-Type"].startswith("application/json")


def test_base64_body_is_decoded(backend):
    status, out, _ = call(skill_payload("BTS"), {"x-skill-secret": SECRET}, b64=True)
    assert status == 200 and validate_response(out) == []


def test_backend_failure_still_answers_200_with_valid_json(backend, monkeypatch):
    monkeypatch.setattr(deps, "_backend", FakeBackend(fail=["index", "artist"]))
    status, out, _ = call(skill_payload("BTS"), {"x-skill-secret": SECRET})
    assert status == 200 and validate_response(out) == []


def test_other_routes_are_404(backend):
    assert call(skill_payload("BTS"), {"x-skill-secret": SECRET}, path="/other")[0] == 404


def test_deadline_follows_the_lambda_clock(backend):
    assert app_mod.deadline_for(LocalLambdaContext(timeout_s=1.0)).remaining() <= 0.7 + 1e-3
    assert 2.9 < app_mod.deadline_for(LocalLambdaContext(timeout_s=30)).remaining() <= 3.0
