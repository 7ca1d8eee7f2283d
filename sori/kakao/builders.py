"""The response builder: dataclasses and :class:`SkillResponse` whose ``to_dict()`` *fits* content to Kakao's
limits instead of failing: long text is truncated with "…" on a safe Unicode boundary, lists are capped, empty
labels and unusable URLs are dropped."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sori.kakao.limits import (
    BUTTON_ACTIONS,
    CAROUSEL_MAX_LIST_CARDS,
    DEFAULT_ERROR_TEXT,
    LABEL_MAX,
    LIST_CARD_MAX_BUTTONS,
    LIST_CARD_MAX_ITEMS,
    LIST_CARD_MAX_ITEMS_IN_CAROUSEL,
    LIST_ITEM_ACTIONS,
    LIST_ITEM_DESCRIPTION_BUDGET,
    LIST_ITEM_TITLE_BUDGET,
    MAX_OUTPUTS,
    MAX_QUICK_REPLIES,
    PLACEHOLDER,
    QUICK_REPLY_ACTIONS,
    QUICK_REPLY_LABEL_BUDGET,
    SIMPLE_TEXT_MAX,
    UNREADABLE_TEXT,
    VERSION,
)
from sori.kakao.text import _clean, _json_safe_extra, _label, fit_text, is_http_url


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
        d = {k: v for k, v in (("web", self.web), ("pc", self.pc), ("mobile", self.mobile))
             if v is not None and is_http_url(v)}
        return d or None


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
        label = _label(self.label, QUICK_REPLY_LABEL_BUDGET)  # [docs] no QuickReply.label limit: not the 14 of buttons
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

    def _render(self, in_carousel: bool = False) -> tuple[str, dict[str, Any]] | None:
        return "simpleText", {"text": fit_text(self.text, SIMPLE_TEXT_MAX)}


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

    def _render(self, in_carousel: bool = False) -> tuple[str, dict[str, Any]] | None:
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
        if len(bs) >= 2:  # [docs] side by side a label gets 8 characters, stacked 14: say which
            d["buttonLayout"] = "vertical"
        return "listCard", d


_CAROUSEL_ITEM_CLASSES: dict[str, type] = {"listCard": ListCard}


@dataclass
class Carousel(_Component):
    """[docs] Carousel of listCards (≤ 5); the only carousel the chatbot sends (the validator knows the others)."""

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

    def _render(self, in_carousel: bool = False) -> tuple[str, dict[str, Any]] | None:
        cap = CAROUSEL_MAX_LIST_CARDS
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


def bad_request_response(reason: str, text: str = UNREADABLE_TEXT) -> dict[str, Any]:
    """The answer to a body that is not a skill payload: still valid Kakao JSON (a simpleText), with
    ``data: {"error": "bad_request", "reason": …}`` for whoever sent it (``data`` is Map<String, Any> [docs])."""
    body = error_response(text)
    body["data"] = {"error": "bad_request", "reason": str(reason)[:500]}
    return body


def error_response(text: str = DEFAULT_ERROR_TEXT) -> dict[str, Any]:
    """The fallback answer when anything goes wrong: always valid Kakao JSON."""
    try:
        return simple_text_response(text if isinstance(text, str) and text.strip() else DEFAULT_ERROR_TEXT)
    except Exception:  # pragma: no cover - belt and braces: the fallback must never fail
        return {"version": VERSION, "template": {"outputs": [{"simpleText": {"text": DEFAULT_ERROR_TEXT}}]}}
