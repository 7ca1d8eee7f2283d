"""Kakao i Open Builder skill: typed request model, response builder and validator.

Stdlib only: the chatbot Lambda imports this on every cold start.

Three parts:

* **Request** - :meth:`SkillRequest.parse` turns the JSON body Open Builder POSTs into a small typed object,
  liberal in what it accepts (every part but ``userRequest`` is coerced, never rejected); it raises
  :class:`KakaoRequestError` only when the body is not a skill payload at all.
* **Builder** - dataclasses (:class:`SimpleText`, :class:`ListCard`, :class:`Carousel`, :class:`Button`,
  :class:`QuickReply`, ...) and
  :class:`SkillResponse` whose ``to_dict()`` *fits* content to Kakao's limits instead of failing: long text is
  truncated with "…" on a safe Unicode boundary, lists are capped, empty labels and unusable URLs are dropped.
* **Validator** - :func:`validate_response` lists every violation of the documented format in a response dict
  from anywhere.

The source of every limit is quoted next to its constant in :mod:`sori.kakao.limits` (checked 2026-11).

How characters are counted: Kakao's limits are "N자". We count UTF-16 code units, which is what Kakao's
Java/JavaScript back ends see as a string's length: a Hangul syllable (after NFC) or a Latin letter is 1,
an emoji outside the BMP is 2. This is never less than the code-point count, so a response that passes here
cannot be too long under either reading. The builder NFC-normalises first (decomposed Hangul jamo would
otherwise count 2-3 per syllable); the validator counts what it is given.

Split by concern (issue 13): ``limits`` (every limit with its source), ``text`` (length, fitting, URL/label
helpers), ``request``, ``builders``, ``validation``. Everything in the old module's
``__all__`` is re-exported here (the other limits live in :mod:`sori.kakao.limits`).
"""

from __future__ import annotations

from sori.kakao.builders import (
                               Button,
                               Carousel,
                               Link,
                               ListCard,
                               ListItem,
                               QuickReply,
                               SimpleText,
                               SkillResponse,
                               bad_request_response,
                               error_response,
                               simple_text_response,
)
from sori.kakao.limits import (
                               CAROUSEL_MAX_ITEMS,
                               CAROUSEL_MAX_LIST_CARDS,
                               DEFAULT_ERROR_TEXT,
                               LABEL_MAX,
                               LABEL_MAX_HORIZONTAL,
                               LIST_CARD_MAX_BUTTONS,
                               LIST_CARD_MAX_ITEMS,
                               LIST_CARD_MAX_ITEMS_IN_CAROUSEL,
                               LIST_ITEM_LINE_WIDTH,
                               MAX_OUTPUTS,
                               MAX_QUICK_REPLIES,
                               SIMPLE_TEXT_MAX,
                               VERSION,
)
from sori.kakao.request import KakaoRequestError, SkillRequest

# private text helpers the unit tests reach for by their old address (tests/unit/test_kakao.py)
from sori.kakao.text import _clean as _clean
from sori.kakao.text import _is_extender as _is_extender
from sori.kakao.text import _is_regional_indicator as _is_regional_indicator
from sori.kakao.text import _safe_cut as _safe_cut
from sori.kakao.text import compose_line, display_width, fit_text, fit_words, is_http_url, text_length
from sori.kakao.validation import validate_response

__all__ = [
    "CAROUSEL_MAX_ITEMS",
    "CAROUSEL_MAX_LIST_CARDS",
    "DEFAULT_ERROR_TEXT",
    "LABEL_MAX",
    "LABEL_MAX_HORIZONTAL",
    "LIST_CARD_MAX_BUTTONS",
    "LIST_CARD_MAX_ITEMS",
    "LIST_CARD_MAX_ITEMS_IN_CAROUSEL",
    "LIST_ITEM_LINE_WIDTH",
    "MAX_OUTPUTS",
    "MAX_QUICK_REPLIES",
    "SIMPLE_TEXT_MAX",
    "VERSION",
    "Button",
    "Carousel",
    "KakaoRequestError",
    "Link",
    "ListCard",
    "ListItem",
    "QuickReply",
    "SimpleText",
    "SkillRequest",
    "SkillResponse",
    "bad_request_response",
    "compose_line",
    "display_width",
    "error_response",
    "fit_text",
    "fit_words",
    "is_http_url",
    "simple_text_response",
    "text_length",
    "validate_response",
]

