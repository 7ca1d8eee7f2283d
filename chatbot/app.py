"""The skill webhook: API Gateway HTTP API (payload v2) ``POST /skill`` on Powertools' Event Handler.

1. ``X-Skill-Secret`` (the custom header configured in Open Builder) must equal the ``SkillSecret`` value,
   compared in constant time; missing or wrong → **401** before anything else is touched.
2. A body that is not a Kakao skill payload at all (not JSON, not an object, no ``userRequest``) → **400** with
   valid Kakao JSON all the same (a simpleText) and ``data: {"error": "bad_request", "reason": …}``.
3. Anything else → **200** with Kakao 2.0 JSON, whatever the utterance and however the optional parts are
   shaped (:class:`sori.kakao.SkillRequest` is liberal: a list or string ``clientExtra``, a string
   ``userRequest.params``, ``lang`` null …; an utterance that cannot be read is answered with the help text).
   The answer comes from
   :func:`chatbot.service.answer` under the request's deadline, and is checked with
   :func:`sori.kakao.validate_response` on the way out (an invalid one is logged and replaced by the
   fallback text, never sent).

>>> from chatbot.handler import lambda_handler                                           # doctest: +SKIP
>>> lambda_handler(http_api_event, context)["statusCode"]                                 # doctest: +SKIP
200
"""
from __future__ import annotations

import contextlib
import functools
import hmac
import json
import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from chatbot.budget import Deadline
from chatbot.service import answer
from sori.kakao import KakaoRequestError, SkillRequest, bad_request_response, error_response, validate_response
from sori.observability import function_logger
from sori.settings import get_settings, secret_value

__all__ = ["LAMBDA_MARGIN_S", "SECRET_HEADER", "app", "deadline_for", "skill_secret"]

SECRET_HEADER = "x-skill-secret"
LAMBDA_MARGIN_S = 0.3  # keep this much of the Lambda's own timeout for shaping and returning the answer
JSON = "application/json; charset=utf-8"

logger = function_logger("chatbot")
app = APIGatewayHttpResolver()


@functools.lru_cache(maxsize=4)
def _secret(arn: str) -> bytes:
    return secret_value(arn, "secret", env_fallback="SORI_SKILL_SECRET").encode("utf-8")


def skill_secret() -> bytes | None:
    """The configured skill secret (cached per container), or None when none is configured."""
    try:
        value = _secret(get_settings().skill_secret_arn)
    except KeyError:
        return None
    return value or None


def _authorized(given: Any) -> bool:
    expected = skill_secret()
    if expected is None:
        logger.error("no skill secret configured (SORI_SKILL_SECRET_ARN / SORI_SKILL_SECRET): rejecting")
        return False
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected)


def deadline_for(context: Any) -> Deadline:
    """The internal deadline: ``chatbot_deadline_ms``, or less when the Lambda has less time left."""
    seconds = get_settings().chatbot_deadline_ms / 1000.0
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        with contextlib.suppress(Exception):  # a context without a clock: keep the configured deadline
            seconds = min(seconds, remaining() / 1000.0 - LAMBDA_MARGIN_S)
    return Deadline(max(seconds, 0.05))


def _json(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body, ensure_ascii=False))


@app.post("/skill")
def skill() -> Response[str]:
    event = app.current_event
    if not _authorized(event.headers.get(SECRET_HEADER)):
        return _json(401, {"error": "unauthorized", "reason": f"missing or wrong {SECRET_HEADER} header"})
    try:
        req = SkillRequest.from_json(event.decoded_body)
    except KakaoRequestError as e:
        return _json(400, bad_request_response(e.reason))
    except (UnicodeDecodeError, ValueError) as e:  # undecodable base64 body
        return _json(400, bad_request_response(f"body is not UTF-8 JSON: {e}"))
    if req.notes:
        logger.info("lenient parse", extra={"notes": list(req.notes[:10])})
    t0 = time.perf_counter()
    from chatbot.deps import get_backend  # first use wires the adapters; later invocations reuse them

    outcome = answer(req, get_backend(), deadline_for(app.lambda_context))
    body = outcome.response
    problems = validate_response(body)
    if problems:
        logger.error("invalid reply replaced", extra={"kind": outcome.kind, "problems": problems[:10]})
        body = error_response()
    logger.debug("answered", extra={"kind": outcome.kind, "artist_id": outcome.artist_id, "how": outcome.how,
                                    "ms": round((time.perf_counter() - t0) * 1000, 1), "notes": outcome.notes})
    if outcome.kind in ("timeout", "error", "busy"):
        logger.warning("degraded answer", extra={"kind": outcome.kind, "notes": outcome.notes})
    return _json(200, body)
