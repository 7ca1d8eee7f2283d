"""Unit tests for sori.kakao: request parsing, the fitting builder and the validator."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sori import kakao as k
from sori.kakao import (
    Button,
    Carousel,
    KakaoRequestError,
    ListCard,
    ListItem,
    QuickReply,
    SimpleText,
    SkillRequest,
    SkillResponse,
    error_response,
    fit_text,
    simple_text_response,
    text_length,
    validate_response,
)
from sori.kakao.limits import QUICK_REPLY_LABEL_BUDGET

IMG = "https://i.scdn.co/image/ab6761610000e5eb0c68f6c95232e716f0abee8d"
WEB = "https://open.spotify.com/artist/3HqSLMAZ3g3d5poNaI7GOU"

# ----------------------------------------------------------------------------------------------------------------
# Request
# ----------------------------------------------------------------------------------------------------------------

# Shaped exactly like a real Open Builder payload (docs "SkillPayload" + a quick-reply tap carrying clientExtra).
REAL_PAYLOAD: dict[str, Any] = {
    "intent": {"id": "65a1f0c2e1b2c3d4e5f60718", "name": "비슷한 가수", "extra": {"reason": {"code": 1, "message": "OK"}}},
    "userRequest": {
        "timezone": "Asia/Seoul",
        "params": {"surface": "Kakaotalk.plusfriend"},
        "block": {"id": "65a1f0c2e1b2c3d4e5f60718", "name": "비슷한 가수"},
        "utterance": "아이유 같은 가수 알려줘",
        "lang": "ko",
        "user": {
            "id": "9b2d3c1e5f0a4b6c8d7e9f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3",
            "type": "botUserKey",
            "properties": {
                "botUserKey": "9b2d3c1e5f0a4b6c8d7e9f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3",
                "plusfriendUserKey": "Xy7_AbC12dEf",
                "isFriend": True,
            },
        },
    },
    "contexts": [],
    "bot": {"id": "65a1eeeeb1c2d3e4f5a6b7c8", "name": "소리"},
    "action": {
        "name": "sori_similar",
        "clientExtra": {"artist_id": "3HqSLMAZ3g3d5poNaI7GOU"},
        "params": {"artist": "아이유"},
        "id": "65a1f1d0a1b2c3d4e5f60799",
        "detailParams": {"artist": {"origin": "아이유", "value": "아이유", "groupName": ""}},
    },
    "flow": {
        "trigger": {"type": "QUICKREPLY_BUTTON_MESSAGE", "referrerBlock": {"id": "65a1", "name": "웰컴"}},
        "lastBlock": {"id": "65a1", "name": "웰컴"},
    },
}


def test_real_payload_parses():
    r = SkillRequest.parse(copy.deepcopy(REAL_PAYLOAD))
    assert r.utterance == "아이유 같은 가수 알려줘"
    assert r.lang == "ko"
    assert r.user_id == REAL_PAYLOAD["userRequest"]["user"]["id"]
    assert r.user_type == "botUserKey"
    assert r.user_properties["plusfriendUserKey"] == "Xy7_AbC12dEf"
    assert r.timezone == "Asia/Seoul"
    assert (r.block_id, r.block_name) == ("65a1f0c2e1b2c3d4e5f60718", "비슷한 가수")
    assert r.params == {"artist": "아이유"}
    assert r.detail_params["artist"]["origin"] == "아이유"
    assert r.client_extra == {"artist_id": "3HqSLMAZ3g3d5poNaI7GOU"}
    assert (r.action_id, r.action_name) == ("65a1f1d0a1b2c3d4e5f60799", "sori_similar")
    assert (r.intent_id, r.intent_name) == ("65a1f0c2e1b2c3d4e5f60718", "비슷한 가수")
    assert (r.bot_id, r.bot_name) == ("65a1eeeeb1c2d3e4f5a6b7c8", "소리")
    assert r.request_params == {"surface": "Kakaotalk.plusfriend"}
    assert r.contexts == []
    assert r.raw["flow"]["trigger"]["type"] == "QUICKREPLY_BUTTON_MESSAGE"
    assert r.param("artist") == "아이유"
    assert r.param("missing", "d") == "d"


def test_from_json_bytes():
    r = SkillRequest.from_json(json.dumps(REAL_PAYLOAD, ensure_ascii=False).encode("utf-8"))
    assert r.utterance == "아이유 같은 가수 알려줘"


def test_minimal_payload_tolerates_missing_optional_parts():
    r = SkillRequest.parse({"userRequest": {"utterance": "hi", "lang": None}})
    assert r.utterance == "hi"
    assert r.lang is None and r.user_id is None and r.bot_id is None and r.intent_id is None
    assert r.params == {} and r.client_extra == {} and r.contexts == []


@pytest.mark.parametrize("extra", [None, "null", "", "   ", {}, [], "{}", "not json", 5, True])
def test_client_extra_null_and_odd_forms_are_empty(extra):
    # issue 14 item 6: "" (and other odd forms) used to raise; Open Builder's test console sends "".
    r = SkillRequest.parse({"userRequest": {"utterance": "x"}, "action": {"clientExtra": extra}})
    assert r.client_extra == {} and r.utterance == "x"


def test_client_extra_json_string_and_detail_param_fallback():
    r = SkillRequest.parse({
        "userRequest": {"utterance": "x", "lang": "kr"},
        "action": {"clientExtra": '{"artist_id": "abc"}', "params": {},
                   "detailParams": {"artist": {"origin": "IU", "value": "아이유"}}},
        "bot": None, "intent": None, "contexts": None,
    })
    assert r.client_extra == {"artist_id": "abc"}
    assert r.lang == "kr"
    assert r.param("artist") == "아이유"


@pytest.mark.parametrize(
    "body, reason",
    [
        (None, "JSON object"),
        ([], "JSON object"),
        ("userRequest", "JSON object"),
        ({}, "missing userRequest"),
        ({"userRequest": None}, "missing userRequest"),
        ({"userRequest": "hello"}, "userRequest must be an object"),
        ({"userRequest": ["a"]}, "userRequest must be an object"),
    ],
)
def test_only_a_body_without_a_user_request_raises(body, reason):
    with pytest.raises(KakaoRequestError) as ei:
        SkillRequest.parse(body)
    assert reason in ei.value.reason
    assert isinstance(ei.value, ValueError)


# Issue 14 item 6: these used to raise KakaoRequestError (the webhook answered 400 and the user saw Kakao's generic
# failure). Now every part but userRequest is coerced: (payload, what the parse yields).
@pytest.mark.parametrize(
    "body, check",
    [
        ({"userRequest": {}}, lambda r: r.utterance == "" and not r.utterance_readable),
        ({"userRequest": {"utterance": None}}, lambda r: r.utterance == "" and not r.utterance_readable),
        ({"userRequest": {"utterance": {"a": 1}}}, lambda r: r.utterance == "" and not r.utterance_readable),
        ({"userRequest": {"utterance": 42}}, lambda r: r.utterance == "42" and r.utterance_readable),
        ({"userRequest": {"utterance": ["BTS", "노래"]}}, lambda r: r.utterance == "BTS 노래"),
        ({"userRequest": {"utterance": "x", "user": "u"}}, lambda r: r.user_id is None),
        ({"userRequest": {"utterance": "x", "user": {"id": {"a": 1}}}}, lambda r: r.user_id is None),
        ({"userRequest": {"utterance": "x", "user": {"id": 620678}}}, lambda r: r.user_id == "620678"),
        ({"userRequest": {"utterance": "x", "lang": 3}}, lambda r: r.lang == "3"),
        ({"userRequest": {"utterance": "x", "lang": ["ko"]}}, lambda r: r.lang is None),
        ({"userRequest": {"utterance": "x", "params": "a=b&c="}}, lambda r: r.request_params == {"a": "b", "c": ""}),
        ({"userRequest": {"utterance": "x", "params": '{"surface": "s"}'}},
         lambda r: r.request_params == {"surface": "s"}),
        ({"userRequest": {"utterance": "x", "params": "garbage"}}, lambda r: r.request_params == {}),
        ({"userRequest": {"utterance": "x"}, "action": []}, lambda r: r.action_id is None),
        ({"userRequest": {"utterance": "x"}, "action": {"params": "a=b"}}, lambda r: r.params == {"a": "b"}),
        ({"userRequest": {"utterance": "x"}, "action": {"clientExtra": "[1]"}}, lambda r: r.client_extra == {}),
        ({"userRequest": {"utterance": "x"}, "action": {"clientExtra": [{"artist_id": "a"}, 3, {"alias": "b"}]}},
         lambda r: r.client_extra == {"artist_id": "a", "alias": "b"}),
        ({"userRequest": {"utterance": "x"}, "contexts": {}}, lambda r: r.contexts == []),
        ({"userRequest": {"utterance": "x"}, "contexts": "[]"}, lambda r: r.contexts == []),
        ({"userRequest": {"utterance": "x"}, "bot": "sori"}, lambda r: r.bot_id is None),
        ({"userRequest": '{"utterance": "x"}'}, lambda r: r.utterance == "x"),
    ],
)
def test_odd_parts_are_coerced_not_rejected(body, check):
    r = SkillRequest.parse(body)
    assert check(r), r


def test_leniency_is_noted_and_a_clean_payload_has_no_notes():
    assert SkillRequest.parse(copy.deepcopy(REAL_PAYLOAD)).notes == ()
    r = SkillRequest.parse({"userRequest": {"utterance": "x", "params": "a=b"}, "action": {"clientExtra": []}})
    assert r.notes == ("userRequest.params was a query string", "action.clientExtra was a list: ignored")


def test_from_json_tolerates_a_bom_and_reports_deep_nesting():
    body = json.dumps({"userRequest": {"utterance": "hi"}}).encode()
    assert SkillRequest.from_json(b"\xef\xbb\xbf" + body).utterance == "hi"
    assert SkillRequest.from_json("\ufeff" + body.decode()).utterance == "hi"
    with pytest.raises(KakaoRequestError):
        SkillRequest.from_json("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("raw", [b"", b"   ", None, b"{not json", "[1, 2", b"\xff\xfe\x00"])
def test_from_json_rejects_non_json(raw):
    with pytest.raises(KakaoRequestError):
        SkillRequest.from_json(raw)


# ----------------------------------------------------------------------------------------------------------------
# Builder: exact shapes
# ----------------------------------------------------------------------------------------------------------------

def test_simple_text_response_shape():
    assert simple_text_response("안녕하세요") == {
        "version": "2.0",
        "template": {"outputs": [{"simpleText": {"text": "안녕하세요"}}]},
    }


def test_full_response_shape_camelcase_and_omits_none():
    resp = SkillResponse(
        outputs=[
            SimpleText("아이유와 비슷한 가수예요"),
            ListCard(
                header="아이유와 비슷한 가수",
                items=[
                    ListItem("태연", "K-pop · 발라드", IMG, link=WEB),
                    ListItem("볼빨간사춘기", action="message", messageText="볼빨간사춘기 같은 가수",
                             extra={"artist_id": "1"}),
                ],
                buttons=[Button("Spotify에서 보기", action="webLink", webLinkUrl=WEB)],
            ),
        ],
        quick_replies=[QuickReply("태연", extra={"artist_id": "3qNVuliS40BLgXGxhdBdqu"}),
                       QuickReply("처음으로", action="block", blockId="65a1")],
        data={"artist_id": "3HqSLMAZ3g3d5poNaI7GOU"},
    ).to_dict()
    assert resp == {
        "version": "2.0",
        "template": {
            "outputs": [
                {"simpleText": {"text": "아이유와 비슷한 가수예요"}},
                {"listCard": {
                    "header": {"title": "아이유와 비슷한 가수"},
                    "items": [
                        {"title": "태연", "description": "K-pop · 발라드", "imageUrl": IMG, "link": {"web": WEB}},
                        {"title": "볼빨간사춘기", "action": "message", "messageText": "볼빨간사춘기 같은 가수",
                         "extra": {"artist_id": "1"}},
                    ],
                    "buttons": [{"label": "Spotify에서 보기", "action": "webLink", "webLinkUrl": WEB}],
                }},
            ],
            "quickReplies": [
                {"label": "태연", "action": "message", "messageText": "태연",
                 "extra": {"artist_id": "3qNVuliS40BLgXGxhdBdqu"}},
                {"label": "처음으로", "action": "block", "blockId": "65a1"},
            ],
        },
        "data": {"artist_id": "3HqSLMAZ3g3d5poNaI7GOU"},
    }
    assert validate_response(resp) == []
    json.loads(SkillResponse([SimpleText("x")]).to_json())


def test_caps_are_applied():
    items = [ListItem(f"가수 {i}", f"설명 {i}") for i in range(9)]
    buttons = [Button(f"버튼{i}") for i in range(5)]
    qrs = [QuickReply(f"답{i}") for i in range(15)]
    resp = SkillResponse(
        outputs=[SimpleText("a"), ListCard("h", items, buttons), SimpleText("b"), SimpleText("dropped")],
        quick_replies=qrs,
    ).to_dict()
    t = resp["template"]
    assert len(t["outputs"]) == 3
    lc = t["outputs"][1]["listCard"]
    assert len(lc["items"]) == 5 and lc["items"][0]["title"] == "가수 0"
    assert len(lc["buttons"]) == 2
    assert len(t["quickReplies"]) == 10
    assert validate_response(resp) == []


def test_list_card_carousel_caps():
    cards = [ListCard(f"h{c}", [ListItem(f"i{c}-{i}") for i in range(7)]) for c in range(8)]
    resp = SkillResponse([Carousel("listCard", cards)]).to_dict()
    car = resp["template"]["outputs"][0]["carousel"]
    assert car["type"] == "listCard"
    assert len(car["items"]) == 5
    assert all(len(c["items"]) == 4 for c in car["items"])
    assert validate_response(resp) == []


def test_button_label_truncation_counts_hangul_as_one():
    b = Button("방탄소년단 같은 가수 더 알려줘요").to_dict()  # 17 chars; [docs] Button.label 14
    assert b is not None
    assert text_length(b["label"]) == 14
    assert b["label"] == "방탄소년단 같은 가수 더…"
    assert b["messageText"] == "방탄소년단 같은 가수 더 알려줘요"  # the tap still sends everything
    exact = Button("가나다라마바사아자차카타파하").to_dict()  # exactly 14
    assert exact is not None
    assert exact["label"] == "가나다라마바사아자차카타파하"


def test_quick_reply_labels_are_not_cut_at_the_button_limit():
    # [docs] the QuickReplies table documents no label limit: an artist name is shown whole (issue 14 item 7)
    for name in ("Panic! At The Disco", "Selena Gomez & The Scene", "방탄소년단 같은 가수 더 알려줘요"):
        qr = QuickReply(name).to_dict()
        assert qr is not None and qr["label"] == name
    long = QuickReply("x" * 80).to_dict()  # only a pathological label meets our own budget
    assert long is not None and text_length(long["label"]) == QUICK_REPLY_LABEL_BUDGET
    resp = SkillResponse(["hi"], [QuickReply("Panic! At The Disco")]).to_dict()
    assert validate_response(resp) == []


def test_a_list_card_with_two_buttons_says_vertical():
    # [docs] side by side a button label gets 8 characters, stacked 14: the builder asks for stacked
    two = ListCard("h", [ListItem("i")], [Button("Spotify에서 듣기", "webLink", webLinkUrl=WEB), Button("비슷한 가수")])
    one = ListCard("h", [ListItem("i")], [Button("Spotify에서 듣기", "webLink", webLinkUrl=WEB)])
    d2, d1 = two.to_output()["listCard"], one.to_output()["listCard"]
    assert d2["buttonLayout"] == "vertical" and "buttonLayout" not in d1
    assert [b["label"] for b in d2["buttons"]] == ["Spotify에서 듣기", "비슷한 가수"]
    assert validate_response(SkillResponse([two]).to_dict()) == []


def test_simple_text_truncated_to_1000_with_ellipsis():
    out = SimpleText("가" * 1500).to_output()["simpleText"]["text"]
    assert text_length(out) == 1000 and out.endswith("…") and out[:-1] == "가" * 999


def test_nfc_first_decomposed_hangul():
    nfd = unicodedata.normalize("NFD", "가나다라마바사아자차카타파하")  # 28 jamo, 14 syllables
    assert len(nfd) > 14
    qr = QuickReply(nfd).to_dict()
    assert qr is not None and qr["label"] == "가나다라마바사아자차카타파하"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 12 + "👍🏽" * 3,  # emoji + skin tone modifier (astral, 2 units each)
        "a" * 12 + "👨‍👩‍👧" * 2,  # ZWJ family
        "a" * 12 + "🇰🇷🇯🇵🇺🇸",  # flags: regional-indicator pairs
        "e\u0301" * 20,  # combining acute
        "a" * 13 + "\U0001F600\U0001F600",  # a surrogate pair straddling the limit
    ],
)
def test_truncation_never_splits_clusters(text):
    out = fit_text(text, 14)
    assert text_length(out) <= 14
    head = out[:-1] if out.endswith("…") else out
    src = unicodedata.normalize("NFC", text)
    assert src.startswith(head)
    rest = src[len(head):]
    if rest:
        assert not k._is_extender(rest[0]) and not head.endswith("\u200d")
        if k._is_regional_indicator(rest[0]):
            run = len(head) - len(head.rstrip("".join(chr(c) for c in range(0x1F1E6, 0x1F200))))
            assert run % 2 == 0


def test_lone_surrogates_are_replaced():
    out = SimpleText("ok \ud800 fine").to_output()
    assert out["simpleText"]["text"] == "ok \ufffd fine"
    resp = SkillResponse([SimpleText("\udfff")]).to_dict()
    assert validate_response(resp) == []


def test_empty_content_is_fitted_not_failed():
    resp = SkillResponse(
        outputs=[SimpleText("   "), ListCard("", [])],
        quick_replies=[QuickReply(""), QuickReply("  "), QuickReply("ok")],
    ).to_dict()
    assert validate_response(resp) == []
    assert [q["label"] for q in resp["template"]["quickReplies"]] == ["ok"]
    assert SkillResponse([]).to_dict()["template"]["outputs"] == [{"simpleText": {"text": "…"}}]


def test_bad_urls_are_dropped_or_degraded():
    resp = SkillResponse([
        ListCard("h", [ListItem("t", imageUrl="ftp://x/y.jpg", link="not a url")],
                 [Button("열기", action="webLink", webLinkUrl="//no-scheme.example"), Button("ok")]),
    ]).to_dict()
    outs = resp["template"]["outputs"]
    assert outs[0]["listCard"]["items"] == [{"title": "t"}]
    assert [b["label"] for b in outs[0]["listCard"]["buttons"]] == ["ok"]
    assert validate_response(resp) == []


def test_constructor_rejects_programmer_errors():
    with pytest.raises(ValueError):
        QuickReply("x", action="webLink")
    with pytest.raises(ValueError):
        QuickReply("x", action="block")
    with pytest.raises(ValueError):
        Button("x", action="teleport")
    with pytest.raises(TypeError):
        QuickReply("x", extra=["not", "a", "map"])  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError):
        Carousel("listCard", [SimpleText("not a list card")])
    with pytest.raises(ValueError):
        Carousel("simpleText", [])
    with pytest.raises(TypeError):
        SkillResponse([object()]).to_dict()  # type: ignore[list-item]  # wrong on purpose


def test_error_response_always_valid():
    for text in ("", None, "x" * 5000, "에러"):
        resp = error_response(text)  # type: ignore[arg-type]
        assert validate_response(resp) == []
    assert error_response()["template"]["outputs"][0]["simpleText"]["text"] == k.DEFAULT_ERROR_TEXT


def test_simple_text_response_with_quick_replies():
    resp = simple_text_response("누구를 찾으세요?", [QuickReply("아이유"), QuickReply("뉴진스")])
    assert [q["label"] for q in resp["template"]["quickReplies"]] == ["아이유", "뉴진스"]
    assert validate_response(resp) == []


def test_module_imports_nothing_heavy():
    code = ("import sys, sori.kakao; "
            "print([m for m in ('pandas', 'pyarrow', 'numpy', 'pydantic', 'boto3', 'requests') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------------------------
# Validator: the official examples are valid, hand-made breakages are each reported
# ----------------------------------------------------------------------------------------------------------------

def _resp(*outputs, quick_replies=None, **top):
    t = {"outputs": list(outputs)}
    if quick_replies is not None:
        t["quickReplies"] = quick_replies
    return {"version": "2.0", "template": t, **top}


DOC_EXAMPLES = {
    "simpleText": _resp({"simpleText": {"text": "간단한 텍스트 요소입니다."}}),
    "simpleImage": _resp({"simpleImage": {"imageUrl": "https://t1.kakaocdn.net/openbuilder/sample/a.jpg",
                                          "altText": "보물상자가 모래사장 위에 놓여 있습니다"}}),
    "textCard": _resp({"textCard": {
        "title": "챗봇 관리자센터에 오신 것을 환영합니다.", "description": "챗봇을 제작해 보세요.",
        "buttons": [{"action": "webLink", "label": "소개 보러가기", "webLinkUrl": "https://chatbot.kakao.com/docs/"},
                    {"action": "webLink", "label": "챗봇 만들러 가기", "webLinkUrl": "https://chatbot.kakao.com/"}],
        "buttonLayout": "vertical"}}),
    "basicCard": _resp({"basicCard": {
        "title": "보물상자", "description": "보물상자 안에는 뭐가 있을까",
        "thumbnail": {"imageUrl": "https://t1.kakaocdn.net/openbuilder/sample/a.jpg"},
        "profile": {"imageUrl": "https://example.com/p.png", "nickname": "보물상자"}, "forwardable": True,
        "buttons": [{"action": "message", "label": "열어보기", "messageText": "짜잔! 우리가 찾던 보물입니다"},
                    {"action": "webLink", "label": "구경하기", "webLinkUrl": "https://e.kakao.com/t/hello-ryan"}]}}),
    "commerceCard": _resp({"commerceCard": {
        "title": "빈티지 목재 보물 상자 (Medium size)", "description": "이 보물 상자 안에는 무엇이 들어있을까요?",
        "price": 10000, "discount": 1000, "currency": "won",
        "thumbnails": [{"imageUrl": "https://t1.kakaocdn.net/a.jpg", "link": {"web": "https://store.example/1"}}],
        "profile": {"imageUrl": "https://example.com/p.png", "nickname": "라이언 스토어"},
        "buttons": [{"label": "구매하기", "action": "webLink", "webLinkUrl": "https://store.example/1"},
                    {"label": "전화하기", "action": "phone", "phoneNumber": "354-86-00070"},
                    {"label": "공유하기", "action": "share"}]}}),
    "listCard": _resp({"listCard": {
        "header": {"title": "챗봇 관리자센터를 소개합니다."},
        "items": [
            {"title": "챗봇 관리자센터", "description": "새로운 AI의 내일과 일상의 변화",
             "imageUrl": "https://t1.kakaocdn.net/openbuilder/sample/img_001.jpg",
             "link": {"web": "https://namu.wiki/w/x"}},
            {"title": "챗봇 관리자센터", "description": "카카오톡 채널 챗봇 만들기",
             "imageUrl": "https://t1.kakaocdn.net/openbuilder/sample/img_002.jpg", "action": "block",
             "blockId": "62654c249ac8ed78441532de", "extra": {"key1": "value1"}},
            {"title": "Kakao i Voice Service", "description": "보이스봇 / KVS 제휴 신청하기", "action": "message",
             "messageText": "Kakao i Voice Service", "extra": {"key1": "value1"}}],
        "buttons": [{"label": "구경가기", "action": "block", "blockId": "62654c249ac8ed78441532de",
                     "extra": {"key1": "value1"}}]}}),
    "listCardCarousel": _resp(
        {"carousel": {"type": "listCard", "items": [
            {"header": {"title": "샌드위치"},
             "items": [{"title": "햄치즈", "description": "4,500원", "imageUrl": "https://t1.kakaocdn.net/1.jpg"}] * 4,
             "buttons": [{"label": "더보기", "action": "message", "messageText": "샌드위치 더보기"}]},
            {"header": {"title": "커피"}, "items": [{"title": "아메리카노", "description": "1,800원"}] * 4}]}},
        quick_replies=[{"messageText": "인기 메뉴", "action": "message", "label": "인기 메뉴"},
                       {"messageText": "최근 주문", "action": "message", "label": "최근 주문"}]),
    "commerceCarouselWithHeader": _resp({"carousel": {
        "type": "commerceCard",
        "header": {"title": "커머스 카드\n케로셀 헤드 예제", "description": "케로셀 헤드 예제입니다.",
                   "thumbnail": {"imageUrl": "https://t1.kakaocdn.net/a.jpg"}},
        "items": [{"description": "따끈따끈한 보물 상자 팝니다", "price": 10000, "currency": "won",
                   "thumbnails": [{"imageUrl": "https://t1.kakaocdn.net/a.jpg"}]}] * 2}}),
    "itemCard": _resp({"itemCard": {
        "imageTitle": {"title": "DOFQTK", "description": "Boarding Number"},
        "title": "", "description": "",
        "thumbnail": {"imageUrl": "http://dev-mk.kakao.com/dn/bot/scripts/with_barcode_blue_1x1.png",
                      "width": 800, "height": 800},
        "profile": {"title": "AA Airline", "imageUrl": "https://t1.kakaocdn.net/aaairline.jpg"},
        "itemList": [{"title": "Flight", "description": "KE0605"}, {"title": "Boards", "description": "8:50 AM"}],
        "itemListAlignment": "right",
        "itemListSummary": {"title": "Total", "description": "$4,032.54"},
        # the docs' own example label is "View Boarding Pass" (18 chars), over its 14-char rule: we keep the rule
        "buttons": [{"label": "View Boarding", "action": "webLink", "webLinkUrl": "https://namu.wiki/w/x"}],
        "buttonLayout": "vertical"}}),
    "callbackAck": {"version": "2.0", "useCallback": True, "data": {"text": "생각하고 있는 중이에요"}},
    "context": {**_resp({"simpleText": {"text": "x"}}),
                "context": {"values": [{"name": "abc", "lifeSpan": 10, "ttl": 60, "params": {"k": "v"}},
                                       {"name": "ghi", "lifeSpan": 0}]}},
}


@pytest.mark.parametrize("name", sorted(DOC_EXAMPLES))
def test_official_doc_examples_are_valid(name):
    assert validate_response(DOC_EXAMPLES[name]) == []


def _list_card(n_items, **extra):
    return {"listCard": {"header": {"title": "h"}, "items": [{"title": f"i{i}"} for i in range(n_items)], **extra}}


def _text(t="x"):
    return {"simpleText": {"text": t}}


INVALID = {
    "four outputs": (_resp(_text(), _text(), _text(), _text()), "template.outputs: 4 entries > 3"),
    "no outputs": (_resp(), "template.outputs: 0 entries < 1"),
    "outputs missing": ({"version": "2.0", "template": {}}, "template.outputs: required"),
    "six list items": (_resp(_list_card(6)), "listCard.items: 6 entries > 5"),
    "zero list items": (_resp(_list_card(0)), "listCard.items: 0 entries < 1"),
    "five list items in carousel": (
        _resp({"carousel": {"type": "listCard", "items": [_list_card(5)["listCard"]]}}),
        "carousel.items[0].items: 5 entries > 4"),
    "fifteen-char button label": (
        _resp(_list_card(1, buttons=[{"label": "a" * 15, "action": "message", "messageText": "x"}])),
        "buttons[0].label: 15 characters > 14"),
    "missing version": ({"template": {"outputs": [_text()]}}, "version: required"),
    "wrong version": ({"version": "1.0", "template": {"outputs": [_text()]}}, "version: must be '2.0'"),
    "missing template": ({"version": "2.0"}, "template: required"),
    "carousel of six list cards": (
        _resp({"carousel": {"type": "listCard", "items": [_list_card(1)["listCard"]] * 6}}),
        "carousel.items: 6 entries > 5"),
    "carousel of eleven basic cards": (
        _resp({"carousel": {"type": "basicCard", "items": [{"thumbnail": {"imageUrl": IMG}}] * 11}}),
        "carousel.items: 11 entries > 10"),
    "empty carousel": (_resp({"carousel": {"type": "basicCard", "items": []}}), "carousel.items: 0 entries < 1"),
    "simpleText 1001 chars": (_resp(_text("가" * 1001)), "simpleText.text: 1001 characters > 1000"),
    "simpleText astral counts two": (_resp(_text("😀" * 501)), "simpleText.text: 1002 characters > 1000"),
    "empty simpleText": (_resp(_text("  ")), "simpleText.text: must not be empty"),
    "non-string text": (_resp({"simpleText": {"text": 5}}), "simpleText.text: must be a string"),
    "non-http link": (
        _resp(_list_card(1, buttons=[{"label": "열기", "action": "webLink", "webLinkUrl": "javascript:alert(1)"}])),
        "webLinkUrl: not an http(s) URL"),
    "ftp image": (_resp({"simpleImage": {"imageUrl": "ftp://x.example/a.jpg"}}), "imageUrl: not an http(s) URL"),
    "relative list link": (
        _resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "t", "link": {"web": "/artist/1"}}]}}),
        "items[0].link.web: not an http(s) URL"),
    "eleven quick replies": (
        _resp(_text(), quick_replies=[{"label": "a", "action": "message", "messageText": "a"}] * 11),
        "template.quickReplies: 11 entries > 10"),
    "quick reply block without blockId": (
        _resp(_text(), quick_replies=[{"label": "a", "action": "block"}]), "quickReplies[0].blockId: required"),
    "quick reply message without messageText": (
        _resp(_text(), quick_replies=[{"label": "a", "action": "message"}]),
        "quickReplies[0].messageText: required"),
    "quick reply bad action": (
        _resp(_text(), quick_replies=[{"label": "a", "action": "webLink", "messageText": "a"}]),
        "quickReplies[0].action: must be 'message' or 'block'"),
    "quick reply typo key": (
        _resp(_text(), quick_replies=[{"label": "a", "action": "message", "messageText": "a", "messagText": "a"}]),
        "quickReplies[0].messagText: unknown field"),
    "two components in one output": (
        _resp({"simpleText": {"text": "a"}, "simpleImage": {"imageUrl": IMG}}), "must hold exactly one component"),
    "unknown component": (_resp({"fancyCard": {}}), "fancyCard: unknown component"),
    "listCard three buttons": (
        _resp(_list_card(1, buttons=[{"label": "a", "action": "share"}] * 3)), "listCard.buttons: 3 entries > 2"),
    "textCard four buttons": (
        _resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "share"}] * 4}}),
        "textCard.buttons: 4 entries > 3"),
    "horizontal label over 8": (
        _resp({"textCard": {"title": "t", "buttonLayout": "horizontal",
                            "buttons": [{"label": "가" * 9, "action": "share"}, {"label": "b", "action": "share"}]}}),
        "buttons[0].label: 9 characters > 8"),
    "bad button layout": (_resp({"textCard": {"title": "t", "buttonLayout": "diagonal"}}), "buttonLayout"),
    "textCard without text": (_resp({"textCard": {}}), "needs a title or a description"),
    "textCard title 51": (_resp({"textCard": {"title": "t" * 51}}), "textCard.title: 51 characters > 50"),
    "textCard total over 400": (
        _resp({"textCard": {"title": "t" * 50, "description": "d" * 351}}), "title + description = 401"),
    "textCard carousel desc 129": (
        _resp({"carousel": {"type": "textCard", "items": [{"description": "d" * 129}]}}),
        "items[0].description: 129 characters > 128"),
    "basicCard without thumbnail": (_resp({"basicCard": {"title": "t"}}), "basicCard.thumbnail: required"),
    "basicCard description 231": (
        _resp({"basicCard": {"description": "d" * 231, "thumbnail": {"imageUrl": IMG}}}),
        "basicCard.description: 231 characters > 230"),
    "simpleImage altText 51": (
        _resp({"simpleImage": {"imageUrl": IMG, "altText": "a" * 51}}), "altText: 51 characters > 50"),
    "header on list carousel": (
        _resp({"carousel": {"type": "listCard", "items": [_list_card(1)["listCard"]],
                            "header": {"title": "t", "description": "d", "thumbnail": {"imageUrl": IMG}}}}),
        "does not support a header"),
    "unknown carousel type": (_resp({"carousel": {"type": "simpleText", "items": [{}]}}), "unknown carousel type"),
    "list item missing title": (
        _resp({"listCard": {"header": {"title": "h"}, "items": [{"description": "d"}]}}),
        "items[0].title: required"),
    "list item block without blockId": (
        _resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "t", "action": "block"}]}}),
        "items[0].blockId: required"),
    "null optional field": (
        _resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "t", "description": None}]}}),
        "description: must be omitted rather than null"),
    "button extra not a map": (
        _resp(_list_card(1, buttons=[{"label": "a", "action": "message", "messageText": "a", "extra": [1]}])),
        "buttons[0].extra: must be an object"),
    "commerce two thumbnails": (
        _resp({"commerceCard": {"price": 1, "thumbnails": [{"imageUrl": IMG}] * 2}}), "thumbnails: 2 entries > 1"),
    "itemCard list of 11": (
        _resp({"itemCard": {"itemList": [{"title": "a", "description": "b"}] * 11}}), "itemList: 11 entries > 10"),
    "data not a map": (_resp(_text(), data=[1, 2]), "data: must be an object"),
    "not JSON-serialisable": (_resp(_text(), data={"s": {1, 2}}), "not JSON-serialisable"),
    "NaN": (_resp(_text(), data={"x": float("nan")}), "not JSON-serialisable"),
    "lone surrogate": (_resp(_text("a\ud800b")), "not JSON-serialisable"),
    "top-level not object": ([1, 2], "response: must be an object"),
    "unknown top-level key": ({**_resp(_text()), "templates": {}}, "response.templates: unknown field"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_responses_are_reported(name):
    obj, expected = INVALID[name]
    errors = validate_response(obj)
    assert errors, f"{name}: no violation reported"
    assert any(expected in e for e in errors), f"{name}: {expected!r} not in {errors}"


def test_every_violation_is_listed_not_just_the_first():
    obj = {"version": "1.0", "template": {
        "outputs": [_text("가" * 1001),
                    _list_card(6, buttons=[{"label": "가" * 15, "action": "message", "messageText": "x"}]),
                    _text(), _text()],
        "quickReplies": [{"label": "가" * 15, "action": "message", "messageText": "x"}] * 11}}
    errors = validate_response(obj)
    for needle in ("version", "4 entries > 3", "1001 characters", "6 entries > 5", "11 entries > 10",
                   "15 characters > 14"):
        assert any(needle in e for e in errors), needle


# ----------------------------------------------------------------------------------------------------------------
# Property tests: whatever goes in, the builder's output validates
# ----------------------------------------------------------------------------------------------------------------

_SPECIAL = ["👍🏽", "👨‍👩‍👧", "🇰🇷", "e\u0301", "\u1100\u1161\u11a8", "\ud800", "\udfff", "\u200d", "\ufe0f",
            "가", "\n", " ", "…", "\x00", "🎵"]
_pieces = st.one_of(st.text(max_size=30), st.sampled_from(_SPECIAL),
                    st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=30))
texts = st.one_of(
    st.text(),
    st.lists(_pieces, max_size=12).map("".join),
    st.builds(lambda s, n: s * n, _pieces, st.integers(min_value=1, max_value=400)),
)
urls = st.one_of(st.none(), st.just(IMG), st.just(WEB), st.text(max_size=20),
                 st.sampled_from(["javascript:x", "ftp://a/b", "http://", "https://a b.com", "//x.com/y"]))
extras = st.one_of(st.none(), st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers()),
                                              max_size=3))

quick_replies = st.builds(QuickReply, label=texts, messageText=st.one_of(st.none(), texts), extra=extras)
buttons = st.one_of(
    st.builds(Button, label=texts, messageText=st.one_of(st.none(), texts), extra=extras),
    st.builds(Button, label=texts, action=st.just("webLink"), webLinkUrl=urls),
    st.builds(Button, label=texts, action=st.just("block"), blockId=st.just("65a1"), extra=extras),
)
list_items = st.one_of(
    st.builds(ListItem, title=texts, description=st.one_of(st.none(), texts), imageUrl=urls, link=urls),
    st.builds(ListItem, title=texts, action=st.just("message"), messageText=st.one_of(st.none(), texts),
              extra=extras),
)
list_cards = st.builds(ListCard, header=texts, items=st.lists(list_items, max_size=8),
                       buttons=st.lists(buttons, max_size=4))
components = st.one_of(
    st.builds(SimpleText, texts),
    texts,
    list_cards,
    st.builds(Carousel, st.just("listCard"), st.lists(list_cards, max_size=8)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(outputs=st.lists(components, max_size=5), qrs=st.lists(quick_replies, max_size=14))
def test_builder_output_always_validates(outputs, qrs):
    resp = SkillResponse(outputs, qrs).to_dict()
    assert validate_response(resp) == []
    json.dumps(resp, ensure_ascii=False).encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(text=texts)
def test_simple_text_response_always_validates(text):
    resp = simple_text_response(text, [QuickReply(text)])
    assert validate_response(resp) == []
    assert validate_response(error_response(text)) == []


@settings(max_examples=500, deadline=None)
@given(text=texts, limit=st.integers(min_value=2, max_value=60))
def test_fit_text_properties(text, limit):
    out = fit_text(text, limit)
    assert out and text_length(out) <= limit
    src = k._clean(text)
    if src.strip() and text_length(src) <= limit:
        assert out == src  # fits: untouched (after NFC)
    elif src.strip():
        assert out.endswith("…")
        head = out[:-1]
        assert src.startswith(head)
        j = len(head)
        # the cut never splits a cluster (trailing whitespace before the cut may have been trimmed)
        assert j == 0 or k._safe_cut(src, j) or src[j].isspace()
    out.encode("utf-8")  # never a lone surrogate
