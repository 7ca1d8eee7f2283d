"""Contract: every Kakao skill payload in the corpus (``tests/fixtures/real/kakao/``, sources in the README next to
it) goes through the Lambda handler as API Gateway would deliver it and gets 200 + a reply that passes
:func:`sori.kakao.validate_response`. The stores are the in-memory world of ``test_chatbot_fakes`` (the webhook's
contract does not depend on them; ``tests/integration/test_chatbot.py`` covers the real ones)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_chatbot_fakes import MMM, fake_webhook_backend

from chatbot.handler import lambda_handler
from local.lambda_context import LocalLambdaContext
from local.webhook import http_api_event
from sori.kakao import SkillRequest, validate_response

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "kakao"
README = CORPUS.parent / "README.md"
FILES = sorted(CORPUS.glob("*.json"))
SECRET = "contract-skill-secret"


@pytest.fixture()
def backend(monkeypatch):
    with fake_webhook_backend(monkeypatch, SECRET) as b:
        yield b


def post(raw: bytes) -> tuple[int, dict]:
    ev = http_api_event("POST", "/skill", {"content-type": "application/json", "x-skill-secret": SECRET}, raw,
                        "127.0.0.1", "POST /skill")
    res = lambda_handler(ev, LocalLambdaContext(function_name="ChatbotFunction", timeout_s=10))
    return res["statusCode"], json.loads(res["body"])


def test_the_corpus_is_there_and_every_file_is_in_the_readme():
    assert len(FILES) >= 20
    listed = set(re.findall(r"^\| `([^`]+\.json)` \|", README.read_text(encoding="utf-8"), re.M))
    assert {f.name for f in FILES} <= listed, "a corpus file without its source in tests/fixtures/real/README.md"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_corpus_payload_gets_200_and_a_valid_kakao_reply(path, backend):
    raw = path.read_bytes()
    status, body = post(raw)
    assert status == 200, (path.name, body)
    assert validate_response(body) == [], (path.name, body)
    assert "data" not in body or "error" not in body["data"]


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_every_corpus_payload_parses_with_its_utterance(path):
    obj = json.loads(path.read_text(encoding="utf-8"))
    req = SkillRequest.parse(obj)
    ur = obj["userRequest"] if isinstance(obj["userRequest"], dict) else json.loads(obj["userRequest"])
    if "utterance" in ur:
        assert req.utterance == str(ur["utterance"]) and req.utterance_readable
    else:
        assert req.utterance == "" and not req.utterance_readable


def load(name: str) -> dict:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


def test_callback_and_slot_filling_fields_are_read():
    cb = SkillRequest.parse(load("liam_callback_payload.json"))
    assert cb.callback_url and cb.callback_url.startswith("https://bot-api.kakao.com/")
    assert cb.user_properties["isFriend"] is True and cb.detail_params["intent_code"]["value"] == "test_intent"
    slot = SkillRequest.parse(load("handmade_slot_filling.json"))
    assert slot.param("artist") == "아이유"
    assert json.loads(slot.param("sys_number")) == {"amount": 3, "unit": "곡"}
    v1 = SkillRequest.parse(load("handmade_v1_payload.json"))
    assert v1.client_extra == {} and v1.lang == "kr"


@pytest.mark.parametrize("name, extra", [
    ("variant_client_extra_list.json", {"artist_id": MMM}),
    ("variant_client_extra_empty_list.json", {}),
    ("variant_client_extra_empty_string.json", {}),
    ("variant_client_extra_non_json_string.json", {}),
    ("variant_client_extra_json_string.json", {"artist_id": "itz0000000000000000007"}),
])
def test_client_extra_variants_are_read_liberally(name, extra):
    req = SkillRequest.parse(load(name))
    assert req.client_extra == extra


def test_quick_reply_tap_in_a_list_shaped_client_extra_still_names_the_artist(backend):
    status, body = post((CORPUS / "variant_client_extra_list.json").read_bytes())
    assert status == 200
    cards = body["template"]["outputs"][-1]
    assert "Mamamoo" in json.dumps(cards, ensure_ascii=False)


def test_string_params_and_lang_variants():
    assert SkillRequest.parse(load("variant_request_params_string.json")).request_params == {
        "surface": "Kakaotalk.plusfriend"}
    assert SkillRequest.parse(load("variant_request_params_non_json_string.json")).request_params == {
        "surface": "Kakaotalk.plusfriend"}
    assert SkillRequest.parse(load("variant_lang_null.json")).lang is None
    assert SkillRequest.parse(load("variant_lang_number.json")).lang == "1"
    ids = SkillRequest.parse(load("variant_numeric_ids.json"))
    assert (ids.user_id, ids.bot_id, ids.user_properties) == ("620678", "5", {})
    req = SkillRequest.parse(load("variant_parts_null_or_wrong_type.json"))
    assert req.notes and req.contexts == [] and req.bot_id is None and req.client_extra == {}


def test_missing_utterance_is_answered_with_help(backend):
    status, body = post((CORPUS / "variant_utterance_missing.json").read_bytes())
    from chatbot.i18n import STRINGS

    assert status == 200 and body["template"]["outputs"][0]["simpleText"]["text"] == STRINGS["ko"]["help"]


def test_a_utf8_bom_is_tolerated(backend):
    status, body = post(b"\xef\xbb\xbf" + (CORPUS / "handmade_v2_payload.json").read_bytes())
    assert status == 200 and validate_response(body) == []
