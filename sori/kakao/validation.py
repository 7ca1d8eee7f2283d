"""The validator: :func:`validate_response` lists every violation of the documented format in a response dict
from anywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from sori.kakao.limits import (
    ALT_TEXT_MAX,
    BASIC_CARD_DESCRIPTION_MAX,
    BASIC_CARD_TITLE_MAX,
    BUTTON_ACTIONS,
    BUTTON_LAYOUTS,
    CARD_MAX_BUTTONS,
    CARD_MAX_BUTTONS_HORIZONTAL,
    CAROUSEL_MAX_ITEMS,
    CAROUSEL_MAX_LIST_CARDS,
    CAROUSEL_TYPES,
    COMMERCE_CARD_DESCRIPTION_MAX,
    COMMERCE_CARD_TITLE_MAX,
    ITEM_CARD_ITEM_TITLE_MAX,
    ITEM_CARD_MAX_ITEMS,
    ITEM_CARD_MAX_ITEMS_IN_CAROUSEL,
    ITEM_CARD_PROFILE_TITLE_MAX,
    ITEM_CARD_SUMMARY_DESCRIPTION_MAX,
    ITEM_CARD_SUMMARY_TITLE_MAX,
    ITEM_CARD_TEXT_MAX,
    ITEM_CARD_TEXT_MAX_IN_CAROUSEL,
    LABEL_MAX,
    LABEL_MAX_HORIZONTAL,
    LIST_CARD_MAX_BUTTONS,
    LIST_CARD_MAX_ITEMS,
    LIST_CARD_MAX_ITEMS_IN_CAROUSEL,
    LIST_ITEM_ACTIONS,
    MAX_OUTPUTS,
    MAX_QUICK_REPLIES,
    MIN_OUTPUTS,
    OUTPUT_TYPES,
    QUICK_REPLY_ACTIONS,
    SIMPLE_TEXT_MAX,
    TEXT_CARD_DESCRIPTION_MAX,
    TEXT_CARD_DESCRIPTION_MAX_IN_CAROUSEL,
    TEXT_CARD_TITLE_MAX,
    TEXT_CARD_TOTAL_MAX,
    VERSION,
)
from sori.kakao.text import is_http_url, text_length

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

    def absent(self, d: dict[str, Any], key: str, p: str, *, required: bool) -> bool:
        """Whether ``key`` is missing or null (an error when ``required``; an explicit null is always one)."""
        if key in d and d[key] is not None:
            return False
        if required:
            self.err(p, "required")
        elif key in d:
            self.err(p, "must be omitted rather than null")
        return True

    def string(self, d: dict[str, Any], key: str, path: str, *, required: bool, max_len: int | None = None,
               src: str = "") -> str | None:
        p = f"{path}.{key}"
        if self.absent(d, key, p, required=required):
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

    def url(self, d: dict[str, Any], key: str, path: str, *, required: bool) -> None:
        v = self.string(d, key, path, required=required)
        if v is not None and not is_http_url(v):
            self.err(f"{path}.{key}", f"not an http(s) URL: {v[:80]!r}")

    def boolean(self, d: dict[str, Any], key: str, path: str) -> None:
        if key in d and not isinstance(d[key], bool):
            self.err(f"{path}.{key}", f"must be a boolean, got {type(d[key]).__name__}")

    def integer(self, d: dict[str, Any], key: str, path: str, *, required: bool = False) -> None:
        if key not in d:
            if required:
                self.err(f"{path}.{key}", "required")
            return
        v = d[key]
        if not isinstance(v, int) or isinstance(v, bool):
            self.err(f"{path}.{key}", f"must be an integer, got {type(v).__name__}")

    def array(self, d: dict[str, Any], key: str, path: str, *, required: bool, lo: int = 0, hi: int | None = None,
              src: str = "") -> list[Any]:
        p = f"{path}.{key}"
        if self.absent(d, key, p, required=required):
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

    def extra(self, d: dict[str, Any], path: str, *, any_json: bool = False) -> None:
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

    def buttons(self, card: dict[str, Any], path: str, *, kind: str, fixed_ratio: Any = None) -> None:
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
        self.message_or_block(v, path, LIST_ITEM_ACTIONS, required=False, block_text=None)
        self.extra(v, path)

    def message_or_block(self, v: Any, path: str, allowed: Any, *, required: bool, block_text: bool | None) -> None:
        """``action`` is ``message`` (needs ``messageText``) or ``block`` (needs ``blockId``; ``messageText``
        required/optional/not checked as ``block_text`` is True/False/None), as list items and quick replies have."""
        action = self.string(v, "action", path, required=required)
        if action is None:
            return
        if action not in allowed:
            self.err(f"{path}.action", f"must be {' or '.join(repr(a) for a in allowed)}, got {action!r}")
        elif action == "message":
            self.string(v, "messageText", path, required=True)
        else:
            self.string(v, "blockId", path, required=True)
            if block_text is not None:
                self.string(v, "messageText", path, required=block_text)

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

    _CARD_CHECKS: ClassVar[dict[str, Callable[..., None]]] = {
        "textCard": text_card,
        "basicCard": basic_card,
        "commerceCard": commerce_card,
        "listCard": list_card,
        "itemCard": item_card,
    }

    def output(self, v: Any, path: str) -> None:
        if not self.obj(v, path):
            return
        kinds = list(v)
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
        self.string(v, "label", path, required=True)  # [docs] QuickReply.label: no documented length limit
        self.message_or_block(v, path, QUICK_REPLY_ACTIONS, required=True, block_text=False)
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

