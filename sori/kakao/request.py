"""The skill request: :meth:`SkillRequest.parse` turns the JSON body Open Builder POSTs into a small typed object.

Liberal in what it accepts (issue 14, item 6): Open Builder, its test console, older (v1) bots and proxies send
the same payload in several shapes — ``action.clientExtra`` as an object, ``null``, the string ``"null"``, ``""``,
a JSON string, a list; ``userRequest.params`` as an object or a string; ``lang`` null; ids as numbers. Every part
but ``userRequest`` is optional and coerced: a part of the wrong type becomes its empty value and a note in
:attr:`SkillRequest.notes` (for the log), never an error. An ``utterance`` that cannot be read as text becomes
``""`` (the chatbot answers that with its help text) with :attr:`SkillRequest.utterance_readable` false.

Only a body that is not a skill payload at all — not JSON, not a JSON object, no ``userRequest`` object (nor a
JSON string holding one) — raises :class:`KakaoRequestError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["KakaoRequestError", "SkillRequest"]

_BOM = "\ufeff"


class KakaoRequestError(ValueError):
    """The body is not a Kakao skill payload. ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _decoded_json(v: str) -> Any:
    """``v`` parsed as JSON, or ``v`` itself when it is not JSON."""
    try:
        return json.loads(v)
    except (ValueError, RecursionError):
        return v


class _Reader:
    """Coerces the parts of one payload, noting every leniency."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def obj(self, v: Any, where: str, *, query_string: bool = False) -> dict[str, Any]:
        """An object part: a mapping; a JSON string holding one; ``None``/``"null"``/``""`` = empty; a list of
        mappings is merged; ``query_string`` accepts ``"a=b&c=d"`` too. Anything else is empty (noted)."""
        if v is None:
            return {}
        if isinstance(v, Mapping):
            return {str(k): x for k, x in v.items()}
        if isinstance(v, str):
            s = v.strip().lstrip(_BOM)
            if s in ("", "null", "{}"):
                return {}
            parsed = _decoded_json(s)
            if isinstance(parsed, (Mapping, list)) or parsed is None:
                self.notes.append(f"{where} was a JSON string")
                return self.obj(parsed, where, query_string=False)
            if query_string and "=" in s:
                self.notes.append(f"{where} was a query string")
                return dict(parse_qsl(s, keep_blank_values=True))
            self.notes.append(f"{where} was a string that is not a JSON object: ignored")
            return {}
        if isinstance(v, list):
            merged: dict[str, Any] = {}
            for item in v:
                if isinstance(item, Mapping):
                    merged.update({str(k): x for k, x in item.items()})
            self.notes.append(f"{where} was a list" + (" of objects: merged" if merged else ": ignored"))
            return merged
        self.notes.append(f"{where} was {type(v).__name__}: ignored")
        return {}

    def text(self, v: Any, where: str) -> str | None:
        """A string part; numbers become their text; anything else is None (noted unless absent)."""
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            self.notes.append(f"{where} was a number")
            return str(v)
        self.notes.append(f"{where} was {type(v).__name__}: ignored")
        return None

    def array(self, v: Any, where: str) -> list[Any]:
        if v is None:
            return []
        if isinstance(v, list):
            return list(v)
        if isinstance(v, str):
            parsed = _decoded_json(v.strip())
            if isinstance(parsed, list):
                self.notes.append(f"{where} was a JSON string")
                return parsed
        self.notes.append(f"{where} was {type(v).__name__}: ignored")
        return []

    def utterance(self, v: Any) -> tuple[str, bool]:
        """(text, readable). A list of strings is joined with spaces; other non-text is ("", False)."""
        if isinstance(v, str):
            return v, True
        if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            self.notes.append("userRequest.utterance was a list of strings: joined")
            return " ".join(v), True
        t = self.text(v, "userRequest.utterance")
        if t is not None:
            return t, True
        if v is None:
            self.notes.append("userRequest.utterance missing")
        return "", False


def _user_request(obj: Mapping[str, Any], reader: _Reader) -> dict[str, Any]:
    ur = obj.get("userRequest")
    if isinstance(ur, str):
        parsed = _decoded_json(ur.strip())
        if isinstance(parsed, Mapping):
            reader.notes.append("userRequest was a JSON string")
            ur = parsed
    if ur is None:
        raise KakaoRequestError("missing userRequest")
    if not isinstance(ur, Mapping):
        raise KakaoRequestError(f"userRequest must be an object, not {type(ur).__name__}")
    return dict(ur)


@dataclass(frozen=True)
class SkillRequest:
    """The parts of an Open Builder skill payload the chatbot uses (``raw`` keeps the whole body)."""

    utterance: str
    lang: str | None = None  # "ko" (docs), "kr" in older payloads and the callback guide, "en", null ...
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
    utterance_readable: bool = True  # False: userRequest.utterance was missing or not text ("" stands in)
    notes: tuple[str, ...] = ()  # every leniency applied while parsing (for the log)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, obj: Any) -> SkillRequest:
        """Parse a decoded JSON body. Raises :class:`KakaoRequestError` only if it is not a skill payload."""
        if not isinstance(obj, Mapping):
            raise KakaoRequestError(f"skill payload must be a JSON object, not {type(obj).__name__}")
        rd = _Reader()
        ur = _user_request(obj, rd)
        utterance, readable = rd.utterance(ur.get("utterance"))
        user = rd.obj(ur.get("user"), "userRequest.user")
        block = rd.obj(ur.get("block"), "userRequest.block")
        action = rd.obj(obj.get("action"), "action")
        intent = rd.obj(obj.get("intent"), "intent")
        bot = rd.obj(obj.get("bot"), "bot")
        return cls(
            utterance=utterance,
            lang=rd.text(ur.get("lang"), "userRequest.lang"),
            user_id=rd.text(user.get("id"), "userRequest.user.id"),
            user_type=rd.text(user.get("type"), "userRequest.user.type"),
            user_properties=rd.obj(user.get("properties"), "userRequest.user.properties"),
            timezone=rd.text(ur.get("timezone"), "userRequest.timezone"),
            block_id=rd.text(block.get("id"), "userRequest.block.id"),
            block_name=rd.text(block.get("name"), "userRequest.block.name"),
            request_params=rd.obj(ur.get("params"), "userRequest.params", query_string=True),
            callback_url=rd.text(ur.get("callbackUrl"), "userRequest.callbackUrl"),
            action_id=rd.text(action.get("id"), "action.id"),
            action_name=rd.text(action.get("name"), "action.name"),
            params=rd.obj(action.get("params"), "action.params", query_string=True),
            detail_params=rd.obj(action.get("detailParams"), "action.detailParams"),
            client_extra=rd.obj(action.get("clientExtra"), "action.clientExtra"),
            intent_id=rd.text(intent.get("id"), "intent.id"),
            intent_name=rd.text(intent.get("name"), "intent.name"),
            bot_id=rd.text(bot.get("id"), "bot.id"),
            bot_name=rd.text(bot.get("name"), "bot.name"),
            contexts=rd.array(obj.get("contexts"), "contexts"),
            utterance_readable=readable,
            notes=tuple(rd.notes),
            raw=dict(obj),
        )

    @classmethod
    def from_json(cls, body: str | bytes | bytearray | None) -> SkillRequest:
        """Decode and parse an HTTP body (a UTF-8 BOM is tolerated); bad JSON is a :class:`KakaoRequestError`."""
        if isinstance(body, (bytes, bytearray)):
            try:
                body = bytes(body).decode("utf-8-sig")
            except UnicodeDecodeError as e:
                raise KakaoRequestError(f"body is not UTF-8: {e}") from None
        if body is None or not isinstance(body, str) or not body.strip().lstrip(_BOM):
            raise KakaoRequestError("empty body")
        try:
            obj = json.loads(body.lstrip(_BOM))
        except (ValueError, TypeError, RecursionError) as e:
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
