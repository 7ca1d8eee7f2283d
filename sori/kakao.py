"""Kakao i Open Builder skill: typed request model, response builder and validator.

Stdlib only: the chatbot Lambda imports this on every cold start.

Three parts:

* **Request** - :meth:`SkillRequest.parse` turns the JSON body Open Builder POSTs into a small typed object, or
  raises :class:`KakaoRequestError` when the body is not a skill payload.
* **Builder** - dataclasses (:class:`SimpleText`, :class:`SimpleImage`, :class:`TextCard`, :class:`BasicCard`,
  :class:`ListCard`, :class:`Carousel`, :class:`Button`, :class:`QuickReply`, ...) and
  :class:`SkillResponse` whose ``to_dict()`` *fits* content to Kakao's limits instead of failing: long text is
  truncated with "…" on a safe Unicode boundary, lists are capped, empty labels and unusable URLs are dropped.
* **Validator** - :func:`validate_response` lists every violation of the documented format in a response dict
  from anywhere; :func:`assert_valid` raises :class:`KakaoResponseError` with them.

Source of every limit (quoted in the comments next to each constant), checked 2026-11:
``[docs]`` = the official "응답 타입별 JSON 포맷" page,
https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
``[design]`` = DESIGN.md §6 "Kakao skill" (where it is stricter than the current docs we keep the stricter rule).

How characters are counted: Kakao's limits are "N자". We count UTF-16 code units, which is what Kakao's
Java/JavaScript back ends see as a string's length: a Hangul syllable (after NFC) or a Latin letter is 1,
an emoji outside the BMP is 2. This is never less than the code-point count, so a response that passes here
cannot be too long under either reading. The builder NFC-normalises first (decomposed Hangul jamo would
otherwise count 2-3 per syllable); the validator counts what it is given.
"""

from __future__ import annotations

import re

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

__all__ = [
    # errors
    "KakaoRequestError",
    "KakaoResponseError",
    # request
    "SkillRequest",
    # response components
    "Link",
    "Thumbnail",
    "Button",
    "QuickReply",
    "ListItem",
    "SimpleText",
    "SimpleImage",
    "TextCard",
    "BasicCard",
    "ListCard",
    "Carousel",
    "SkillResponse",
    # helpers
    "simple_text_response",
    "error_response",
    "validate_response",
    "assert_valid",
    "text_length",
    "fit_text",
    "is_http_url",
    # limits
    "VERSION",
    "MAX_OUTPUTS",
    "MAX_QUICK_REPLIES",
    "SIMPLE_TEXT_MAX",
    "LABEL_MAX",
    "LABEL_MAX_HORIZONTAL",
    "LIST_CARD_MAX_ITEMS",
    "LIST_CARD_MAX_ITEMS_IN_CAROUSEL",
    "LIST_CARD_MAX_BUTTONS",
    "CAROUSEL_MAX_ITEMS",
    "CAROUSEL_MAX_LIST_CARDS",
    "DEFAULT_ERROR_TEXT",
]

# --------------------------------------------------------------------------------------------------------------
# Limits. Each one quotes its source.
# --------------------------------------------------------------------------------------------------------------

# [docs] SkillResponse: "현재 스킬 응답의 version은 2.0만 지원됩니다." / "version이 없다면 구 버전의 응답으로 간주"
VERSION = "2.0"
# [docs] SkillTemplate: outputs "1개 이상 3개 이하"; [design] "outputs 1–3"
MIN_OUTPUTS = 1
MAX_OUTPUTS = 3
# [docs] SkillTemplate: quickReplies "10개 이하"; [design] "quickReplies ≤ 10"
MAX_QUICK_REPLIES = 10
# [docs] SimpleText.text 제한 "1000자" (over 500 the client folds the rest behind "전체 보기"); [design] ≤ 1000
SIMPLE_TEXT_MAX = 1000
# [docs] SimpleImage.altText / Thumbnail.altText "최대 50자"
ALT_TEXT_MAX = 50
# [docs] TextCard.title "최대 50자"
TEXT_CARD_TITLE_MAX = 50
# [docs] TextCard.description "단일형인 경우, 최대 400자 (title에 따라 달라짐) 케로셀인 경우, 최대 128자";
#        "단일형인 경우, title과 description을 합쳐 최대 400자까지 노출됩니다." -> title+description ≤ 400
TEXT_CARD_DESCRIPTION_MAX = 400
TEXT_CARD_DESCRIPTION_MAX_IN_CAROUSEL = 128
TEXT_CARD_TOTAL_MAX = 400
# [docs] BasicCard.title "최대 50자", description "최대 230자" (in a carousel "최대 2줄", device dependent,
#        not checkable as characters: the character limits still apply)
BASIC_CARD_TITLE_MAX = 50
BASIC_CARD_DESCRIPTION_MAX = 230
# [docs] CommerceCard.title "최대 30자", description "최대 40자", thumbnails "현재 1개만 가능", currency "won"만
COMMERCE_CARD_TITLE_MAX = 30
COMMERCE_CARD_DESCRIPTION_MAX = 40
# [docs] ItemCard: itemList "단일형: 최대 10개", "케로셀형: 최대 5개"; itemList.title "최대 6자";
#        itemListSummary.title "최대 6자", description "최대 14자"; title+description "단일형: 최대 200자",
#        "케로셀형: 최대 100자", "description을 넣는 경우, title이 필수"; profile.title "최대 15글자"
ITEM_CARD_MAX_ITEMS = 10
ITEM_CARD_MAX_ITEMS_IN_CAROUSEL = 5
ITEM_CARD_ITEM_TITLE_MAX = 6
ITEM_CARD_SUMMARY_TITLE_MAX = 6
ITEM_CARD_SUMMARY_DESCRIPTION_MAX = 14
ITEM_CARD_TEXT_MAX = 200
ITEM_CARD_TEXT_MAX_IN_CAROUSEL = 100
ITEM_CARD_PROFILE_TITLE_MAX = 15
# [docs] Button.label "버튼 14자(가로배열 2개 8자)"; [design] "button/quickReply label ≤ 14 chars".
#        The docs give no separate limit for QuickReply.label; DESIGN.md applies the button rule to both.
LABEL_MAX = 14
LABEL_MAX_HORIZONTAL = 8
# [docs] Text/Basic/Commerce/ItemCard.buttons "가로 정렬 시 최대 2개, 세로 정렬 시 최대 3개";
#        buttonLayout "vertical": 최대 3개, "horizontal": 최대 2개; Thumbnail.fixedRatio true -> "버튼이 가로로
#        배열되며 최대 2개"; buttonLayout wins over fixedRatio.
CARD_MAX_BUTTONS = 3
CARD_MAX_BUTTONS_HORIZONTAL = 2
# [design] listCard "buttons ≤ 2" (the older docs' "최대 2개"). The current docs table allows 3 with a vertical
#        layout; we keep the stricter 2 so a reply is valid under both readings.
LIST_CARD_MAX_BUTTONS = 2
# [docs] ListCard.items "최대 5개, 케로셀형 : 최대 4개"; [design] "listCard ≤ 5 items (≤ 4 inside a carousel)"
LIST_CARD_MAX_ITEMS = 5
LIST_CARD_MAX_ITEMS_IN_CAROUSEL = 4
# [docs] Carousel.items "최대 10개 *ListCard는 최대 5개"; [design] "carousel of listCards ≤ 5"
CAROUSEL_MAX_ITEMS = 10
CAROUSEL_MAX_LIST_CARDS = 5
# [docs] ListItem has NO documented character limits (title/description are one line each, device dependent).
#        These are *our* display budgets, applied by the builder only; the validator does not enforce them.
LIST_ITEM_TITLE_BUDGET = 50
LIST_ITEM_DESCRIPTION_BUDGET = 100
# [docs] userRequest.user.id "최대 70자" (request side; informative only).
USER_ID_MAX = 70

ELLIPSIS = "\u2026"  # "…", 1 UTF-16 unit
PLACEHOLDER = ELLIPSIS  # stands in for required text that came in empty
DEFAULT_ERROR_TEXT = "죄송해요, 잠시 문제가 생겼어요. 잠시 후 다시 시도해 주세요."

# [docs] component names allowed in template.outputs
OUTPUT_TYPES = ("simpleText", "simpleImage", "textCard", "basicCard", "commerceCard", "listCard", "itemCard",
                "carousel")
# [docs] Carousel.type "basicCard 혹은 commerceCard, listCard, itemCard" (+ TextCard in the items row)
CAROUSEL_TYPES = ("textCard", "basicCard", "commerceCard", "listCard", "itemCard")
# [docs] Button "action 종류": webLink, message, phone, block, share, operator
BUTTON_ACTIONS = ("webLink", "message", "phone", "block", "share", "operator")
# [docs] ListItem.action "block or message"; QuickReply.action "‘Message’ 혹은 ‘block’" (examples: "message")
LIST_ITEM_ACTIONS = ("block", "message")
QUICK_REPLY_ACTIONS = ("message", "block")
BUTTON_LAYOUTS = ("vertical", "horizontal")


# --------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------

class KakaoRequestError(ValueError):
    """The body is not a Kakao skill payload. ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class KakaoResponseError(ValueError):
    """A skill response breaks the documented format. ``violations`` lists every problem."""

    def __init__(self, violations: Sequence[str]):
        self.violations = list(violations)
        super().__init__("invalid Kakao skill response:\n  - " + "\n  - ".join(self.violations))


# --------------------------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------------------------

def text_length(s: str) -> int:
    """Length as Kakao counts it: UTF-16 code units (Hangul syllable = 1, astral emoji = 2)."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _clean(s: Any) -> str:
    """str(), lone surrogates -> U+FFFD (valid pairs are joined), then NFC."""
    if s is None:
        return ""
    if not isinstance(s, str):
        s = str(s)
    s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return unicodedata.normalize("NFC", s)


def _is_extender(ch: str) -> bool:
    """True if ``ch`` attaches to the character before it (must not start a cut-off tail)."""
    cp = ord(ch)
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Mc", "Me"):
        return True
    return (
        cp == 0x200D  # zero width joiner
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (flag sequences)
        or 0x1160 <= cp <= 0x11FF  # Hangul jungseong / jongseong (conjoining jamo left after NFC)
        or 0xD7B0 <= cp <= 0xD7FF  # Hangul jamo extended-B
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _safe_cut(s: str, i: int) -> bool:
    """May ``s`` be cut between s[i-1] and s[i] without splitting a grapheme (approximation of UAX #29)?"""
    if i <= 0 or i >= len(s):
        return True
    if _is_extender(s[i]) or s[i - 1] == "\u200d":
        return False
    if _is_regional_indicator(s[i]) and _is_regional_indicator(s[i - 1]):
        run = 0
        j = i - 1
        while j >= 0 and _is_regional_indicator(s[j]):
            run += 1
            j -= 1
        return run % 2 == 0  # an odd run before i means s[i] completes a flag pair
    return True


def fit_text(text: Any, limit: int, *, placeholder: str | None = PLACEHOLDER) -> str:
    """Clean (NFC, no lone surrogates) and fit ``text`` into ``limit`` UTF-16 units, ending in "…" if cut.

    Never splits a surrogate pair, a combining sequence, an emoji ZWJ/modifier sequence or a flag.
    Empty (or whitespace-only) text becomes ``placeholder`` (or "" when placeholder is None).
    """
    s = _clean(text)
    if not s.strip():
        return placeholder if placeholder is not None else ""
    if text_length(s) <= limit:
        return s
    budget = limit - text_length(ELLIPSIS)
    # index of the longest prefix within budget
    units = 0
    i = 0
    for i, ch in enumerate(s):  # noqa: B007
        w = 2 if ord(ch) > 0xFFFF else 1
        if units + w > budget:
            break
        units += w
    else:  # pragma: no cover - unreachable: the whole string is longer than limit
        i = len(s)
    while i > 0 and not _safe_cut(s, i):
        i -= 1
    head = s[:i].rstrip()
    return head + ELLIPSIS if head else ELLIPSIS


_WHITESPACE = re.compile(r"\s")


def is_http_url(value: Any) -> bool:
    """An absolute http(s) URL string with a host and no whitespace."""
    if not isinstance(value, str) or not value or _WHITESPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and bool(parts.hostname)


def _label(text: Any, limit: int = LABEL_MAX) -> str:
    """A label fitted to ``limit``; "" when empty (the caller drops the button / quick reply)."""
    return fit_text(text, limit, placeholder=None)


def _json_safe_extra(extra: Any, what: str) -> dict[str, Any] | None:
    if extra is None:
        return None
    if not isinstance(extra, Mapping):
        raise TypeError(f"{what}.extra must be a mapping, not {type(extra).__name__}")
    return dict(extra)


# --------------------------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------------------------

def _opt_dict(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    v = obj.get(key)
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise KakaoRequestError(f"{where}.{key} must be an object, not {type(v).__name__}")
    return dict(v)


def _opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise KakaoRequestError(f"{where}.{key} must be a string, not {type(v).__name__}")
    return v


def _client_extra(v: Any) -> dict[str, Any]:
    """action.clientExtra: an object; null, and the string "null" of old (v1) payloads, mean none."""
    if v is None:
        return {}
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, str):
        try:
            parsed = json.loads(v)
        except ValueError:
            raise KakaoRequestError("action.clientExtra is a string that is not a JSON object") from None
        if parsed is None:
            return {}
        if isinstance(parsed, dict):
            return parsed
    raise KakaoRequestError(f"action.clientExtra must be an object, not {type(v).__name__}")


@dataclass(frozen=True)
class SkillRequest:
    """The parts of an Open Builder skill payload the chatbot uses (``raw`` keeps the whole body)."""

    utterance: str
    lang: str | None = None  # "ko" (docs), "kr" in older payloads, "en", ...
    user_id: str | None = None  # userRequest.user.id (botUserKey, ≤ 70 chars)
    user_type: str | None = None
    user_properties: dict[str, Any] = field(default_factory=dict)  # plusfriendUserKey, appUserId, isFriend
    timezone: str | None = None
    block_id: str | None = None
    block_name: str | None = None
    request_params: dict[str, Any] = field(default_factory=dict)  # userRequest.params (surface, ...)
    callback_url: str | None = None
    action_id: str | None = None
    action_name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # action.params
    detail_params: dict[str, Any] = field(default_factory=dict)  # action.detailParams
    client_extra: dict[str, Any] = field(default_factory=dict)  # action.clientExtra (quick reply / button extra)
    intent_id: str | None = None
    intent_name: str | None = None
    bot_id: str | None = None
    bot_name: str | None = None
    contexts: list[Any] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, obj: Any) -> "SkillRequest":
        """Parse a decoded JSON body. Raises :class:`KakaoRequestError` if it is not a skill payload."""
        if not isinstance(obj, Mapping):
            raise KakaoRequestError(f"skill payload must be a JSON object, not {type(obj).__name__}")
        ur = obj.get("userRequest")
        if ur is None:
            raise KakaoRequestError("missing userRequest")
        if not isinstance(ur, Mapping):
            raise KakaoRequestError(f"userRequest must be an object, not {type(ur).__name__}")
        if "utterance" not in ur or ur["utterance"] is None:
            raise KakaoRequestError("missing userRequest.utterance")
        utterance = ur["utterance"]
        if not isinstance(utterance, str):
            raise KakaoRequestError(f"userRequest.utterance must be a string, not {type(utterance).__name__}")

        user = _opt_dict(ur, "user", "userRequest")
        block = _opt_dict(ur, "block", "userRequest")
        action = _opt_dict(obj, "action", "payload")
        intent = _opt_dict(obj, "intent", "payload")
        bot = _opt_dict(obj, "bot", "payload")
        contexts = obj.get("contexts")
        if contexts is None:
            contexts = []
        elif not isinstance(contexts, list):
            raise KakaoRequestError(f"contexts must be an array, not {type(contexts).__name__}")
        user_id = user.get("id")
        if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, (str, int))):
            raise KakaoRequestError("userRequest.user.id must be a string")

        return cls(
            utterance=utterance,
            lang=_opt_str(ur, "lang", "userRequest"),
            user_id=None if user_id is None else str(user_id),
            user_type=_opt_str(user, "type", "userRequest.user"),
            user_properties=_opt_dict(user, "properties", "userRequest.user"),
            timezone=_opt_str(ur, "timezone", "userRequest"),
            block_id=_opt_str(block, "id", "userRequest.block"),
            block_name=_opt_str(block, "name", "userRequest.block"),
            request_params=_opt_dict(ur, "params", "userRequest"),
            callback_url=_opt_str(ur, "callbackUrl", "userRequest"),
            action_id=_opt_str(action, "id", "action"),
            action_name=_opt_str(action, "name", "action"),
            params=_opt_dict(action, "params", "action"),
            detail_params=_opt_dict(action, "detailParams", "action"),
            client_extra=_client_extra(action.get("clientExtra")),
            intent_id=_opt_str(intent, "id", "intent"),
            intent_name=_opt_str(intent, "name", "intent"),
            bot_id=_opt_str(bot, "id", "bot"),
            bot_name=_opt_str(bot, "name", "bot"),
            contexts=list(contexts),
            raw=dict(obj),
        )

    @classmethod
    def from_json(cls, body: str | bytes | bytearray | None) -> "SkillRequest":
        """Decode and parse an HTTP body; bad JSON is a :class:`KakaoRequestError` too."""
        if body is None or (isinstance(body, (str, bytes, bytearray)) and not body.strip()):
            raise KakaoRequestError("empty body")
        try:
            obj = json.loads(body)
        except (ValueError, TypeError) as e:
            raise KakaoRequestError(f"body is not JSON: {e}") from None
        return cls.parse(obj)

    def param(self, name: str, default: Any = None) -> Any:
        """An action parameter: ``action.params[name]``, else ``detailParams[name].value``, else default."""
        if name in self.params and self.params[name] is not None:
            return self.params[name]
        detail = self.detail_params.get(name)
        if isinstance(detail, Mapping) and detail.get("value") is not None:
            return detail["value"]
        return default


# --------------------------------------------------------------------------------------------------------------
# Response builder
# --------------------------------------------------------------------------------------------------------------

def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        d[key] = value


def _put_message_or_block(d: dict[str, Any], action: str, label: str, message_text: str | None,
                          block_id: str | None, extra: Mapping[str, Any] | None) -> None:
    """What a ``message`` or ``block`` action carries (Button and QuickReply alike): ``message`` sends
    messageText or, without one, the full label; ``block`` sends blockId and messageText if given; both ``extra``."""
    msg = _clean(message_text) if message_text and message_text.strip() else None
    if action == "message":
        d["messageText"] = msg or _clean(label).strip()
    else:
        d["blockId"] = block_id
        _put(d, "messageText", msg)
    _put(d, "extra", extra)


@dataclass
class Link:
    """[docs] Link: pc / mobile / web (web wins). Non-http(s) values are dropped."""

    web: str | None = None
    pc: str | None = None
    mobile: str | None = None

    def to_dict(self) -> dict[str, str] | None:
        d = {k: v for k, v in (("web", self.web), ("pc", self.pc), ("mobile", self.mobile)) if is_http_url(v)}
        return d or None


@dataclass
class Thumbnail:
    imageUrl: str
    altText: str | None = None
    link: Link | None = None
    fixedRatio: bool | None = None

    def to_dict(self) -> dict[str, Any] | None:
        if not is_http_url(self.imageUrl):
            return None
        d: dict[str, Any] = {"imageUrl": self.imageUrl}
        if self.altText is not None:
            alt = fit_text(self.altText, ALT_TEXT_MAX, placeholder=None)
            _put(d, "altText", alt or None)
        _put(d, "link", self.link.to_dict() if self.link else None)
        _put(d, "fixedRatio", self.fixedRatio)
        return d


@dataclass
class Button:
    """[docs] Button. ``action``: webLink (webLinkUrl) | message (messageText) | block (blockId) | phone | share.

    For ``message`` without messageText the full (untruncated) label is sent, so a cut label still says
    everything when tapped.
    """

    label: str
    action: str = "message"
    webLinkUrl: str | None = None
    messageText: str | None = None
    blockId: str | None = None
    phoneNumber: str | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.action not in BUTTON_ACTIONS:
            raise ValueError(f"Button.action must be one of {BUTTON_ACTIONS}, not {self.action!r}")
        if self.action == "block" and not self.blockId:
            raise ValueError("Button with action 'block' needs blockId")
        if self.action == "phone" and not self.phoneNumber:
            raise ValueError("Button with action 'phone' needs phoneNumber")
        self.extra = _json_safe_extra(self.extra, "Button")

    def to_dict(self, label_max: int = LABEL_MAX) -> dict[str, Any] | None:
        label = _label(self.label, label_max)
        if not label:
            return None
        d: dict[str, Any] = {"label": label, "action": self.action}
        if self.action == "webLink":
            if not is_http_url(self.webLinkUrl):
                return None
            d["webLinkUrl"] = self.webLinkUrl
        elif self.action in ("message", "block"):
            _put_message_or_block(d, self.action, self.label, self.messageText, self.blockId, self.extra)
        elif self.action == "phone":
            d["phoneNumber"] = self.phoneNumber
        return d


@dataclass
class QuickReply:
    """[docs] QuickReply: action ``message`` (messageText, default = full label) or ``block`` (blockId).

    ``extra`` comes back to the skill as ``action.clientExtra`` when tapped (e.g. ``{"artist_id": ...}``).
    """

    label: str
    action: str = "message"
    messageText: str | None = None
    blockId: str | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.action not in QUICK_REPLY_ACTIONS:
            raise ValueError(f"QuickReply.action must be one of {QUICK_REPLY_ACTIONS}, not {self.action!r}")
        if self.action == "block" and not self.blockId:
            raise ValueError("QuickReply with action 'block' needs blockId")
        self.extra = _json_safe_extra(self.extra, "QuickReply")

    def to_dict(self) -> dict[str, Any] | None:
        label = _label(self.label)
        if not label:
            return None
        d: dict[str, Any] = {"label": label, "action": self.action}
        _put_message_or_block(d, self.action, self.label, self.messageText, self.blockId, self.extra)
        return d


@dataclass
class ListItem:
    """[docs] ListItem (a listCard header or item). Title/description are fitted to our display budgets."""

    title: str
    description: str | None = None
    imageUrl: str | None = None
    link: Link | str | None = None  # a str is taken as Link(web=...)
    action: str | None = None  # "message" | "block" | None
    messageText: str | None = None
    blockId: str | None = None
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.action is not None and self.action not in LIST_ITEM_ACTIONS:
            raise ValueError(f"ListItem.action must be one of {LIST_ITEM_ACTIONS} or None, not {self.action!r}")
        if self.action == "block" and not self.blockId:
            raise ValueError("ListItem with action 'block' needs blockId")
        if isinstance(self.link, str):
            self.link = Link(web=self.link)
        self.extra = _json_safe_extra(self.extra, "ListItem")

    def to_dict(self, header: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"title": fit_text(self.title, LIST_ITEM_TITLE_BUDGET)}
        if not header:
            if self.description is not None:
                desc = fit_text(self.description, LIST_ITEM_DESCRIPTION_BUDGET, placeholder=None)
                _put(d, "description", desc or None)
            if is_http_url(self.imageUrl):
                d["imageUrl"] = self.imageUrl
        if isinstance(self.link, Link):
            _put(d, "link", self.link.to_dict())
        if self.action == "message":
            d["action"] = "message"
            d["messageText"] = _clean(self.messageText) if self.messageText and self.messageText.strip() \
                else _clean(self.title).strip() or PLACEHOLDER
        elif self.action == "block":
            d["action"] = "block"
            d["blockId"] = self.blockId
            if self.messageText and self.messageText.strip():
                d["messageText"] = _clean(self.messageText)
        if self.action is not None:
            _put(d, "extra", self.extra)
        return d


def _buttons(buttons: Iterable[Button], cap: int, label_max: int) -> list[dict[str, Any]]:
    out = []
    for b in buttons:
        bd = b.to_dict(label_max)
        if bd is not None:
            out.append(bd)
        if len(out) == cap:
            break
    return out


def _put_card_buttons(d: dict, buttons: Sequence["Button"], layout: str | None,
                      fixed_ratio: bool | None = None) -> None:
    """Fit a card's buttons to its layout's rules and put them (and the layout) on the card dict."""
    cap, label_max = _card_button_rules(layout, fixed_ratio)
    bs = _buttons(buttons, cap, label_max)
    if bs:
        d["buttons"] = bs
        _put(d, "buttonLayout", layout)


def _card_button_rules(layout: str | None, fixed_ratio: bool | None = None) -> tuple[int, int]:
    horizontal = layout == "horizontal" or (layout is None and fixed_ratio is True)
    if horizontal:
        return CARD_MAX_BUTTONS_HORIZONTAL, LABEL_MAX_HORIZONTAL
    return CARD_MAX_BUTTONS, LABEL_MAX


class _Component:
    """Base of output components. ``_render(in_carousel)`` returns (kind, body) or None (nothing to show)."""

    kind: ClassVar[str]

    def _render(self, in_carousel: bool = False) -> tuple[str, dict[str, Any]] | None:  # pragma: no cover
        raise NotImplementedError

    def to_output(self) -> dict[str, Any]:
        """This component as one ``template.outputs`` entry (fitted; falls back to a simpleText)."""
        r = self._render(False)
        if r is None:
            return {"simpleText": {"text": PLACEHOLDER}}
        return {r[0]: r[1]}


@dataclass
class SimpleText(_Component):
    text: str
    kind: ClassVar[str] = "simpleText"

    def _render(self, in_carousel: bool = False):
        return "simpleText", {"text": fit_text(self.text, SIMPLE_TEXT_MAX)}


@dataclass
class SimpleImage(_Component):
    """An image; if the URL is not http(s) it degrades to a simpleText of the alt text."""

    imageUrl: str
    altText: str | None = None
    kind: ClassVar[str] = "simpleImage"

    def _render(self, in_carousel: bool = False):
        if not is_http_url(self.imageUrl):
            return SimpleText(self.altText or PLACEHOLDER)._render()
        d: dict[str, Any] = {"imageUrl": self.imageUrl}
        if self.altText is not None:
            alt = fit_text(self.altText, ALT_TEXT_MAX, placeholder=None)
            _put(d, "altText", alt or None)
        return "simpleImage", d


@dataclass
class TextCard(_Component):
    title: str | None = None
    description: str | None = None
    buttons: Sequence[Button] = ()
    buttonLayout: str | None = None
    kind: ClassVar[str] = "textCard"

    def __post_init__(self) -> None:
        if self.buttonLayout is not None and self.buttonLayout not in BUTTON_LAYOUTS:
            raise ValueError(f"buttonLayout must be one of {BUTTON_LAYOUTS}")

    def _render(self, in_carousel: bool = False):
        d: dict[str, Any] = {}
        title = fit_text(self.title, TEXT_CARD_TITLE_MAX, placeholder=None) if self.title is not None else ""
        if title:
            d["title"] = title
        if in_carousel:
            desc_max = TEXT_CARD_DESCRIPTION_MAX_IN_CAROUSEL
        else:
            desc_max = min(TEXT_CARD_DESCRIPTION_MAX, TEXT_CARD_TOTAL_MAX - text_length(title))
        desc = fit_text(self.description, desc_max, placeholder=None) if self.description is not None else ""
        if desc:
            d["description"] = desc
        if not d:  # [docs] "title, description 중 최소 하나 필수"
            d["description"] = PLACEHOLDER
        _put_card_buttons(d, self.buttons, self.buttonLayout)
        return "textCard", d


@dataclass
class BasicCard(_Component):
    """A card with a thumbnail. Without a usable thumbnail URL it renders as a textCard (a carousel drops it)."""

    thumbnail: Thumbnail | str
    title: str | None = None
    description: str | None = None
    buttons: Sequence[Button] = ()
    buttonLayout: str | None = None
    kind: ClassVar[str] = "basicCard"

    def __post_init__(self) -> None:
        if isinstance(self.thumbnail, str):
            self.thumbnail = Thumbnail(self.thumbnail)
        if self.buttonLayout is not None and self.buttonLayout not in BUTTON_LAYOUTS:
            raise ValueError(f"buttonLayout must be one of {BUTTON_LAYOUTS}")

    def _render(self, in_carousel: bool = False):
        assert isinstance(self.thumbnail, Thumbnail)
        thumb = self.thumbnail.to_dict()
        if thumb is None:
            if in_carousel:
                return None
            return TextCard(self.title, self.description, self.buttons, self.buttonLayout)._render(False)
        d: dict[str, Any] = {}
        if self.title is not None:
            _put(d, "title", fit_text(self.title, BASIC_CARD_TITLE_MAX, placeholder=None) or None)
        if self.description is not None:
            _put(d, "description", fit_text(self.description, BASIC_CARD_DESCRIPTION_MAX, placeholder=None) or None)
        d["thumbnail"] = thumb
        _put_card_buttons(d, self.buttons, self.buttonLayout, thumb.get("fixedRatio"))
        return "basicCard", d


@dataclass
class ListCard(_Component):
    """[docs] ListCard: header title + items (≤ 5, ≤ 4 in a carousel) + buttons (≤ 2). Extra items are cut."""

    header: ListItem | str
    items: Sequence[ListItem] = ()
    buttons: Sequence[Button] = ()
    kind: ClassVar[str] = "listCard"

    def __post_init__(self) -> None:
        if isinstance(self.header, str):
            self.header = ListItem(self.header)

    def _render(self, in_carousel: bool = False):
        assert isinstance(self.header, ListItem)
        cap = LIST_CARD_MAX_ITEMS_IN_CAROUSEL if in_carousel else LIST_CARD_MAX_ITEMS
        items = [it.to_dict() for it in list(self.items)[:cap]]
        if not items:  # items are required; a list of nothing says only its header
            if in_carousel:
                return None
            return SimpleText(self.header.title)._render()
        d: dict[str, Any] = {"header": self.header.to_dict(header=True), "items": items}
        bs = _buttons(self.buttons, LIST_CARD_MAX_BUTTONS, LABEL_MAX)
        if bs:
            d["buttons"] = bs
        return "listCard", d


_CAROUSEL_ITEM_CLASSES: dict[str, type] = {"listCard": ListCard, "basicCard": BasicCard, "textCard": TextCard}


@dataclass
class Carousel(_Component):
    """[docs] Carousel of one card type: ``listCard`` (≤ 5), ``basicCard`` / ``textCard`` (≤ 10)."""

    type: str
    items: Sequence[_Component] = ()
    kind: ClassVar[str] = "carousel"

    def __post_init__(self) -> None:
        cls = _CAROUSEL_ITEM_CLASSES.get(self.type)
        if cls is None:
            raise ValueError(f"Carousel.type must be one of {tuple(_CAROUSEL_ITEM_CLASSES)}, not {self.type!r}")
        for it in self.items:
            if not isinstance(it, cls):
                raise TypeError(f"a {self.type} carousel holds {cls.__name__} items, not {type(it).__name__}")

    def _render(self, in_carousel: bool = False):
        cap = CAROUSEL_MAX_LIST_CARDS if self.type == "listCard" else CAROUSEL_MAX_ITEMS
        bodies: list[dict[str, Any]] = []
        for it in self.items:
            r = it._render(True)
            if r is not None and r[0] == self.type:
                bodies.append(r[1])
            if len(bodies) == cap:
                break
        if not bodies:
            return None
        return "carousel", {"type": self.type, "items": bodies}


def _as_component(o: Any) -> _Component:
    if isinstance(o, _Component):
        return o
    if isinstance(o, str):
        return SimpleText(o)
    raise TypeError(f"not a Kakao output component: {type(o).__name__}")


@dataclass
class SkillResponse:
    """A whole skill response. ``to_dict()`` always returns a response :func:`validate_response` accepts
    (given JSON-serialisable ``extra``/``data``): outputs are capped at 3 (an empty list gets a placeholder
    text), quick replies at 10, and every component is fitted.
    """

    outputs: Sequence[_Component | str]
    quick_replies: Sequence[QuickReply] = ()
    data: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        outs = [_as_component(o).to_output() for o in list(self.outputs)[:MAX_OUTPUTS]]
        if not outs:
            outs = [SimpleText(PLACEHOLDER).to_output()]
        template: dict[str, Any] = {"outputs": outs}
        qrs = []
        for q in self.quick_replies:
            qd = q.to_dict()
            if qd is not None:
                qrs.append(qd)
            if len(qrs) == MAX_QUICK_REPLIES:
                break
        if qrs:
            template["quickReplies"] = qrs
        d: dict[str, Any] = {"version": VERSION, "template": template}
        if self.data is not None:
            d["data"] = dict(self.data)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


def simple_text_response(text: str, quick_replies: Iterable[QuickReply] = ()) -> dict[str, Any]:
    """One simpleText (fitted to 1000 chars) plus optional quick replies, as a response dict."""
    return SkillResponse([SimpleText(text)], list(quick_replies)).to_dict()


def error_response(text: str = DEFAULT_ERROR_TEXT) -> dict[str, Any]:
    """The fallback answer when anything goes wrong: always valid Kakao JSON."""
    try:
        return simple_text_response(text if isinstance(text, str) and text.strip() else DEFAULT_ERROR_TEXT)
    except Exception:  # pragma: no cover - belt and braces: the fallback must never fail
        return {"version": VERSION, "template": {"outputs": [{"simpleText": {"text": DEFAULT_ERROR_TEXT}}]}}


# --------------------------------------------------------------------------------------------------------------
# Validator
# --------------------------------------------------------------------------------------------------------------

# Known keys per object ([docs] field tables). Unknown keys are reported: a typo such as "messagText" is
# silently ignored by Kakao and breaks the button.
_KEYS = {
    "response": {"version", "template", "context", "data", "useCallback"},
    "template": {"outputs", "quickReplies"},
    "simpleText": {"text"},
    "simpleImage": {"imageUrl", "altText"},
    "textCard": {"title", "description", "buttons", "buttonLayout", "forwardable"},
    "basicCard": {"title", "description", "thumbnail", "buttons", "buttonLayout", "forwardable", "profile",
                  "social"},
    "commerceCard": {"title", "description", "price", "currency", "discount", "discountRate", "discountedPrice",
                     "thumbnails", "profile", "buttons", "buttonLayout", "forwardable"},
    "listCard": {"header", "items", "buttons", "buttonLayout", "forwardable"},
    "itemCard": {"thumbnail", "head", "profile", "imageTitle", "itemList", "itemListAlignment", "itemListSummary",
                 "title", "description", "buttons", "buttonLayout", "forwardable"},
    "carousel": {"type", "items", "header"},
    "carouselHeader": {"title", "description", "thumbnail"},
    "listItem": {"title", "description", "imageUrl", "link", "action", "blockId", "messageText", "extra"},
    "button": {"label", "action", "webLinkUrl", "messageText", "phoneNumber", "blockId", "extra"},
    "quickReply": {"label", "action", "messageText", "blockId", "extra"},
    "thumbnail": {"imageUrl", "altText", "link", "fixedRatio", "width", "height"},
    "link": {"pc", "mobile", "web"},
    "profile": {"nickname", "imageUrl", "title", "width", "height"},
    "context": {"values"},
    "contextValue": {"name", "lifeSpan", "ttl", "params"},
}


class _Validator:
    def __init__(self) -> None:
        self.errors: list[str] = []

    # -- primitives ---------------------------------------------------------------------------------------
    def err(self, path: str, msg: str) -> None:
        self.errors.append(f"{path}: {msg}")

    def obj(self, v: Any, path: str, kind: str | None = None) -> bool:
        if not isinstance(v, dict):
            self.err(path, f"must be an object, got {type(v).__name__}")
            return False
        if kind is not None:
            for k in v:
                if k not in _KEYS[kind]:
                    self.err(f"{path}.{k}", f"unknown field for {kind}")
        return True

    def string(self, d: dict, key: str, path: str, *, required: bool, max_len: int | None = None,
               src: str = "") -> str | None:
        p = f"{path}.{key}"
        if key not in d or d[key] is None:
            if required:
                self.err(p, "required")
            elif key in d:
                self.err(p, "must be omitted rather than null")
            return None
        v = d[key]
        if not isinstance(v, str):
            self.err(p, f"must be a string, got {type(v).__name__}")
            return None
        if required and not v.strip():
            self.err(p, "must not be empty")
        if max_len is not None and text_length(v) > max_len:
            self.err(p, f"{text_length(v)} characters > {max_len}{f' ({src})' if src else ''}")
        return v

    def url(self, d: dict, key: str, path: str, *, required: bool) -> None:
        v = self.string(d, key, path, required=required)
        if v is not None and not is_http_url(v):
            self.err(f"{path}.{key}", f"not an http(s) URL: {v[:80]!r}")

    def boolean(self, d: dict, key: str, path: str) -> None:
        if key in d and not isinstance(d[key], bool):
            self.err(f"{path}.{key}", f"must be a boolean, got {type(d[key]).__name__}")

    def integer(self, d: dict, key: str, path: str, *, required: bool = False) -> None:
        if key not in d:
            if required:
                self.err(f"{path}.{key}", "required")
            return
        v = d[key]
        if not isinstance(v, int) or isinstance(v, bool):
            self.err(f"{path}.{key}", f"must be an integer, got {type(v).__name__}")

    def array(self, d: dict, key: str, path: str, *, required: bool, lo: int = 0, hi: int | None = None,
              src: str = "") -> list:
        p = f"{path}.{key}"
        if key not in d or d[key] is None:
            if required:
                self.err(p, "required")
            elif key in d:
                self.err(p, "must be omitted rather than null")
            return []
        v = d[key]
        if not isinstance(v, list):
            self.err(p, f"must be an array, got {type(v).__name__}")
            return []
        if len(v) < lo:
            self.err(p, f"{len(v)} entries < {lo}{f' ({src})' if src else ''}")
        if hi is not None and len(v) > hi:
            self.err(p, f"{len(v)} entries > {hi}{f' ({src})' if src else ''}")
        return v

    def extra(self, d: dict, path: str, *, any_json: bool = False) -> None:
        if "extra" in d and d["extra"] is not None and not any_json and not isinstance(d["extra"], dict):
            self.err(f"{path}.extra", f"must be an object (Map<String, Any>), got {type(d['extra']).__name__}")

    # -- shared parts ---------------------------------------------------------------------------------------
    def link(self, v: Any, path: str) -> None:
        if not self.obj(v, path, "link"):
            return
        if not any(k in v for k in ("web", "pc", "mobile")):
            self.err(path, "needs at least one of web, pc, mobile")
        for k in ("web", "pc", "mobile"):
            self.url(v, k, path, required=False)

    def thumbnail(self, v: Any, path: str) -> None:
        if not self.obj(v, path, "thumbnail"):
            return
        self.url(v, "imageUrl", path, required=True)
        self.string(v, "altText", path, required=False, max_len=ALT_TEXT_MAX, src="Thumbnail.altText 최대 50자")
        if "link" in v:
            self.link(v["link"], f"{path}.link")
        self.boolean(v, "fixedRatio", path)
        self.integer(v, "width", path)
        self.integer(v, "height", path)

    def button(self, v: Any, path: str, label_max: int) -> None:
        if not self.obj(v, path, "button"):
            return
        self.string(v, "label", path, required=True, max_len=label_max,
                    src=f"Button.label 버튼 {LABEL_MAX}자(가로배열 2개 {LABEL_MAX_HORIZONTAL}자)")
        action = self.string(v, "action", path, required=True)
        if action is None:
            return
        if action not in BUTTON_ACTIONS:
            self.err(f"{path}.action", f"unknown button action {action!r} (one of {', '.join(BUTTON_ACTIONS)})")
            return
        if action == "webLink":
            self.url(v, "webLinkUrl", path, required=True)
        elif action == "message":
            self.string(v, "messageText", path, required=True)
        elif action == "block":
            self.string(v, "blockId", path, required=True)
            self.string(v, "messageText", path, required=False)
        elif action == "phone":
            self.string(v, "phoneNumber", path, required=True)
        self.extra(v, path)

    def buttons(self, card: dict, path: str, *, kind: str, fixed_ratio: Any = None) -> None:
        layout = card.get("buttonLayout")
        if "buttonLayout" in card and layout not in BUTTON_LAYOUTS:
            self.err(f"{path}.buttonLayout", f"must be 'vertical' or 'horizontal', got {layout!r}")
            layout = None
        horizontal = layout == "horizontal" or (layout is None and fixed_ratio is True)
        if kind == "listCard":
            hi, src = LIST_CARD_MAX_BUTTONS, "listCard buttons ≤ 2"
        elif horizontal:
            hi, src = CARD_MAX_BUTTONS_HORIZONTAL, "가로 정렬 시 최대 2개"
        else:
            hi, src = CARD_MAX_BUTTONS, "세로 정렬 시 최대 3개"
        bs = self.array(card, "buttons", path, required=False, hi=hi, src=src)
        label_max = LABEL_MAX_HORIZONTAL if horizontal and len(bs) >= 2 else LABEL_MAX
        for i, b in enumerate(bs):
            self.button(b, f"{path}.buttons[{i}]", label_max)

    def list_item(self, v: Any, path: str) -> None:
        # [docs] no character limits on ListItem
        if not self.obj(v, path, "listItem"):
            return
        self.string(v, "title", path, required=True)
        self.string(v, "description", path, required=False)
        self.url(v, "imageUrl", path, required=False)
        if "link" in v:
            self.link(v["link"], f"{path}.link")
        action = self.string(v, "action", path, required=False)
        if action is not None:
            if action not in LIST_ITEM_ACTIONS:
                self.err(f"{path}.action", f"must be 'block' or 'message', got {action!r}")
            elif action == "block":
                self.string(v, "blockId", path, required=True)
            else:
                self.string(v, "messageText", path, required=True)
        self.extra(v, path)

    def profile(self, v: Any, path: str, *, item_card: bool) -> None:
        if not self.obj(v, path, "profile"):
            return
        if item_card:
            self.string(v, "title", path, required=True, max_len=ITEM_CARD_PROFILE_TITLE_MAX,
                        src="itemCard profile.title 최대 15글자")
        else:
            self.string(v, "nickname", path, required=True)
        self.url(v, "imageUrl", path, required=False)

    # -- components ---------------------------------------------------------------------------------------
    def simple_text(self, v: Any, path: str) -> None:
        if self.obj(v, path, "simpleText"):
            self.string(v, "text", path, required=True, max_len=SIMPLE_TEXT_MAX, src="SimpleText 1000자")

    def simple_image(self, v: Any, path: str) -> None:
        if self.obj(v, path, "simpleImage"):
            self.url(v, "imageUrl", path, required=True)
            self.string(v, "altText", path, required=False, max_len=ALT_TEXT_MAX, src="SimpleImage.altText 최대 50자")

    def text_card(self, v: Any, path: str, in_carousel: bool) -> None:
        if not self.obj(v, path, "textCard"):
            return
        t = self.string(v, "title", path, required=False, max_len=TEXT_CARD_TITLE_MAX, src="TextCard.title 최대 50자")
        if in_carousel:
            d = self.string(v, "description", path, required=False, max_len=TEXT_CARD_DESCRIPTION_MAX_IN_CAROUSEL,
                            src="TextCard.description 케로셀인 경우 최대 128자")
        else:
            d = self.string(v, "description", path, required=False, max_len=TEXT_CARD_DESCRIPTION_MAX,
                            src="TextCard.description 단일형 최대 400자")
            if t is not None and d is not None and text_length(t) + text_length(d) > TEXT_CARD_TOTAL_MAX:
                self.err(path, f"title + description = {text_length(t) + text_length(d)} characters > "
                               f"{TEXT_CARD_TOTAL_MAX} (TextCard 단일형 title과 description을 합쳐 최대 400자)")
        if not (t and t.strip()) and not (d and d.strip()):
            self.err(path, "needs a title or a description (TextCard: 최소 하나 필수)")
        self.boolean(v, "forwardable", path)
        self.buttons(v, path, kind="textCard")

    def basic_card(self, v: Any, path: str, in_carousel: bool) -> None:
        if not self.obj(v, path, "basicCard"):
            return
        self.string(v, "title", path, required=False, max_len=BASIC_CARD_TITLE_MAX, src="BasicCard.title 최대 50자")
        self.string(v, "description", path, required=False, max_len=BASIC_CARD_DESCRIPTION_MAX,
                    src="BasicCard.description 최대 230자")
        fixed = None
        if "thumbnail" not in v:
            self.err(f"{path}.thumbnail", "required")
        else:
            self.thumbnail(v["thumbnail"], f"{path}.thumbnail")
            if isinstance(v["thumbnail"], dict):
                fixed = v["thumbnail"].get("fixedRatio")
        if "profile" in v:
            self.profile(v["profile"], f"{path}.profile", item_card=False)
        self.boolean(v, "forwardable", path)
        self.buttons(v, path, kind="basicCard", fixed_ratio=fixed)

    def commerce_card(self, v: Any, path: str, in_carousel: bool) -> None:
        if not self.obj(v, path, "commerceCard"):
            return
        self.string(v, "title", path, required=False, max_len=COMMERCE_CARD_TITLE_MAX,
                    src="CommerceCard.title 최대 30자")
        self.string(v, "description", path, required=False, max_len=COMMERCE_CARD_DESCRIPTION_MAX,
                    src="CommerceCard.description 최대 40자")
        self.integer(v, "price", path, required=True)
        for k in ("discount", "discountRate", "discountedPrice"):
            self.integer(v, k, path)
        if "discountRate" in v and "discountedPrice" not in v:
            self.err(f"{path}.discountedPrice", "required when discountRate is given")
        cur = self.string(v, "currency", path, required=False)
        if cur is not None and cur != "won":
            self.err(f"{path}.currency", f"only 'won' is supported, got {cur!r}")
        thumbs = self.array(v, "thumbnails", path, required=True, lo=1, hi=1, src="thumbnails 현재 1개만 가능")
        for i, t in enumerate(thumbs):
            self.thumbnail(t, f"{path}.thumbnails[{i}]")
        if "profile" in v:
            self.profile(v["profile"], f"{path}.profile", item_card=False)
        self.boolean(v, "forwardable", path)
        self.buttons(v, path, kind="commerceCard")

    def list_card(self, v: Any, path: str, in_carousel: bool) -> None:
        if not self.obj(v, path, "listCard"):
            return
        if "header" not in v:
            self.err(f"{path}.header", "required")
        else:
            self.list_item(v["header"], f"{path}.header")
        hi = LIST_CARD_MAX_ITEMS_IN_CAROUSEL if in_carousel else LIST_CARD_MAX_ITEMS
        src = "ListCard.items 케로셀형 최대 4개" if in_carousel else "ListCard.items 최대 5개"
        for i, it in enumerate(self.array(v, "items", path, required=True, lo=1, hi=hi, src=src)):
            self.list_item(it, f"{path}.items[{i}]")
        self.boolean(v, "forwardable", path)
        self.buttons(v, path, kind="listCard")

    def item_card(self, v: Any, path: str, in_carousel: bool) -> None:
        if not self.obj(v, path, "itemCard"):
            return
        if "thumbnail" in v:
            self.thumbnail(v["thumbnail"], f"{path}.thumbnail")
        if "head" in v and "profile" in v:
            self.err(path, "head and profile cannot be used together")
        if "head" in v and self.obj(v["head"], f"{path}.head"):
            self.string(v["head"], "title", f"{path}.head", required=True)
        if "profile" in v:
            self.profile(v["profile"], f"{path}.profile", item_card=True)
        if "imageTitle" in v and self.obj(v["imageTitle"], f"{path}.imageTitle"):
            self.string(v["imageTitle"], "title", f"{path}.imageTitle", required=True)
            self.string(v["imageTitle"], "description", f"{path}.imageTitle", required=False)
            self.url(v["imageTitle"], "imageUrl", f"{path}.imageTitle", required=False)
        hi = ITEM_CARD_MAX_ITEMS_IN_CAROUSEL if in_carousel else ITEM_CARD_MAX_ITEMS
        for i, it in enumerate(self.array(v, "itemList", path, required=True, lo=1, hi=hi,
                                          src="itemList 단일형 최대 10개, 케로셀형 최대 5개")):
            p = f"{path}.itemList[{i}]"
            if self.obj(it, p):
                self.string(it, "title", p, required=True, max_len=ITEM_CARD_ITEM_TITLE_MAX, src="최대 6자")
                self.string(it, "description", p, required=True)
        if "itemListAlignment" in v and v["itemListAlignment"] not in ("left", "right"):
            self.err(f"{path}.itemListAlignment", "must be 'left' or 'right'")
        if "itemListSummary" in v and self.obj(v["itemListSummary"], f"{path}.itemListSummary"):
            p = f"{path}.itemListSummary"
            self.string(v["itemListSummary"], "title", p, required=True, max_len=ITEM_CARD_SUMMARY_TITLE_MAX,
                        src="최대 6자")
            self.string(v["itemListSummary"], "description", p, required=True,
                        max_len=ITEM_CARD_SUMMARY_DESCRIPTION_MAX, src="최대 14자")
        t = self.string(v, "title", path, required=False)
        d = self.string(v, "description", path, required=False)
        if d and not t:
            self.err(f"{path}.title", "required when description is given")
        total_max = ITEM_CARD_TEXT_MAX_IN_CAROUSEL if in_carousel else ITEM_CARD_TEXT_MAX
        total = text_length(t or "") + text_length(d or "")
        if total > total_max:
            self.err(path, f"title + description = {total} characters > {total_max} (itemCard)")
        self.boolean(v, "forwardable", path)
        self.buttons(v, path, kind="itemCard")

    def carousel(self, v: Any, path: str) -> None:
        if not self.obj(v, path, "carousel"):
            return
        ctype = self.string(v, "type", path, required=True)
        if ctype is not None and ctype not in CAROUSEL_TYPES:
            self.err(f"{path}.type", f"unknown carousel type {ctype!r} (one of {', '.join(CAROUSEL_TYPES)})")
            ctype = None
        hi = CAROUSEL_MAX_LIST_CARDS if ctype == "listCard" else CAROUSEL_MAX_ITEMS
        src = "Carousel.items ListCard는 최대 5개" if ctype == "listCard" else "Carousel.items 최대 10개"
        items = self.array(v, "items", path, required=True, lo=1, hi=hi, src=src)
        if "header" in v:
            if ctype in ("listCard", "textCard"):
                self.err(f"{path}.header", f"a {ctype} carousel does not support a header")
            elif self.obj(v["header"], f"{path}.header", "carouselHeader"):
                h = v["header"]
                self.string(h, "title", f"{path}.header", required=True)
                self.string(h, "description", f"{path}.header", required=True)
                if "thumbnail" not in h:
                    self.err(f"{path}.header.thumbnail", "required")
                else:
                    self.thumbnail(h["thumbnail"], f"{path}.header.thumbnail")
        if ctype is None:
            return
        check = self._CARD_CHECKS[ctype]
        for i, it in enumerate(items):
            check(self, it, f"{path}.items[{i}]", True)

    _CARD_CHECKS = {
        "textCard": text_card,
        "basicCard": basic_card,
        "commerceCard": commerce_card,
        "listCard": list_card,
        "itemCard": item_card,
    }

    def output(self, v: Any, path: str) -> None:
        if not self.obj(v, path):
            return
        kinds = [k for k in v]
        if len(kinds) != 1:
            self.err(path, f"must hold exactly one component, got {len(kinds)} ({', '.join(map(str, kinds))})")
        for k in kinds:
            if k not in OUTPUT_TYPES:
                self.err(f"{path}.{k}", f"unknown component (one of {', '.join(OUTPUT_TYPES)})")
                continue
            p = f"{path}.{k}"
            if k == "simpleText":
                self.simple_text(v[k], p)
            elif k == "simpleImage":
                self.simple_image(v[k], p)
            elif k == "carousel":
                self.carousel(v[k], p)
            else:
                self._CARD_CHECKS[k](self, v[k], p, False)

    def quick_reply(self, v: Any, path: str) -> None:
        if not self.obj(v, path, "quickReply"):
            return
        self.string(v, "label", path, required=True, max_len=LABEL_MAX, src="quickReply label ≤ 14")
        action = self.string(v, "action", path, required=True)
        if action is not None:
            if action not in QUICK_REPLY_ACTIONS:
                self.err(f"{path}.action", f"must be 'message' or 'block', got {action!r}")
            elif action == "message":
                self.string(v, "messageText", path, required=True)
            else:
                self.string(v, "blockId", path, required=True)
                self.string(v, "messageText", path, required=False)
        self.extra(v, path, any_json=True)  # [docs] QuickReply.extra: Any

    def context(self, v: Any, path: str) -> None:
        if not self.obj(v, path, "context"):
            return
        for i, cv in enumerate(self.array(v, "values", path, required=True)):
            p = f"{path}.values[{i}]"
            if self.obj(cv, p, "contextValue"):
                self.string(cv, "name", p, required=True)
                self.integer(cv, "lifeSpan", p, required=True)
                if "params" in cv and self.obj(cv["params"], f"{p}.params"):
                    for k, pv in cv["params"].items():
                        if not isinstance(pv, str):
                            self.err(f"{p}.params.{k}", "must be a string (Map<String, String>)")

    def response(self, obj: Any) -> None:
        if not self.obj(obj, "response", "response"):
            return
        if "version" not in obj:
            self.err("version", "required (without it Kakao treats the reply as the old format)")
        elif obj["version"] != VERSION:
            self.err("version", f"must be {VERSION!r}, got {obj['version']!r}")
        if "useCallback" in obj:
            self.boolean(obj, "useCallback", "response")
        callback = obj.get("useCallback") is True
        if "template" not in obj:
            if not callback:  # [docs] a callback acknowledgement ({"useCallback": true}) carries no template
                self.err("template", "required")
        elif self.obj(obj["template"], "template", "template"):
            t = obj["template"]
            outs = self.array(t, "outputs", "template", required=True, lo=MIN_OUTPUTS, hi=MAX_OUTPUTS,
                              src="outputs 1개 이상 3개 이하")
            for i, o in enumerate(outs):
                self.output(o, f"template.outputs[{i}]")
            qrs = self.array(t, "quickReplies", "template", required=False, hi=MAX_QUICK_REPLIES,
                             src="quickReplies 10개 이하")
            for i, q in enumerate(qrs):
                self.quick_reply(q, f"template.quickReplies[{i}]")
        if "context" in obj:
            self.context(obj["context"], "context")
        if "data" in obj and not isinstance(obj["data"], dict):
            self.err("data", f"must be an object (Map<String, Any>), got {type(obj['data']).__name__}")
        try:
            json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError, UnicodeError, RecursionError) as e:
            self.err("response", f"not JSON-serialisable as UTF-8: {e}")


def validate_response(obj: Any) -> list[str]:
    """Every way ``obj`` breaks Kakao's skill response format (empty list = valid). Paths are dotted."""
    v = _Validator()
    v.response(obj)
    return v.errors


def assert_valid(obj: Any) -> Any:
    """Raise :class:`KakaoResponseError` listing every violation; return ``obj`` when valid."""
    errors = validate_response(obj)
    if errors:
        raise KakaoResponseError(errors)
    return obj

