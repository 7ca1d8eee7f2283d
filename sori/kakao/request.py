"""The skill request: :meth:`SkillRequest.parse` turns the JSON body Open Builder POSTs into a small typed object,
or raises :class:`KakaoRequestError` when the body is not a skill payload."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class KakaoRequestError(ValueError):
    """The body is not a Kakao skill payload. ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason



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
    def parse(cls, obj: Any) -> SkillRequest:
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
    def from_json(cls, body: str | bytes | bytearray | None) -> SkillRequest:
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
