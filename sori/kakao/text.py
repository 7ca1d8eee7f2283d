"""Text helpers for Kakao replies: length in UTF-16 units, fitting on safe Unicode boundaries, URL and label checks.

How characters are counted: Kakao's limits are "N자". We count UTF-16 code units, which is what Kakao's
Java/JavaScript back ends see as a string's length: a Hangul syllable (after NFC) or a Latin letter is 1,
an emoji outside the BMP is 2. This is never less than the code-point count, so a response that passes here
cannot be too long under either reading. The builder NFC-normalises first (decomposed Hangul jamo would
otherwise count 2-3 per syllable); the validator counts what it is given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sori.kakao.limits import ELLIPSIS, LABEL_MAX, PLACEHOLDER


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
