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
from collections.abc import Mapping, Sequence
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


def display_width(s: str) -> int:
    """Columns a line of ``s`` takes: East Asian wide and fullwidth characters (Hangul syllables, CJK, fullwidth
    forms, most emoji) 2, combining marks and zero-width joiners 0, everything else 1. A proxy for how much of a
    one-line list row a text fills (a Hangul syllable is about twice as wide as a Latin letter).

    >>> display_width("BTS"), display_width("방탄소년단"), display_width("Top 50 · 한국")
    (3, 10, 13)
    """
    w = 0
    for ch in s:
        if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0e\ufe0f":
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


_WORD_END = re.compile(r"\S+")
_TRAILING = " -\u2013\u2014\u00b7,:;/|&+"


def fit_words(text: Any, width: int, *, min_words: int = 1) -> str | None:
    """``text`` (cleaned, one line) if it fits ``width`` columns; else its longest run of whole words that fits
    with "…" after it; None when fewer than ``min_words`` words fit. Never cuts inside a word.

    >>> fit_words("Top 50 - South Korea", 20), fit_words("Top 50 - South Korea", 12), fit_words("Eyjafjallajökull", 8)
    ('Top 50 - South Korea', 'Top 50…', None)
    """
    s = " ".join(_clean(text).split())
    if display_width(s) <= width:
        return s
    room = width - display_width(ELLIPSIS)
    best, kept = None, 0
    for n, m in enumerate(_WORD_END.finditer(s), 1):
        head = s[: m.end()].rstrip(_TRAILING)  # "Top 50 -" reads "Top 50…", not "Top 50 -…"
        if display_width(head) > room:
            break
        best, kept = head or best, n
    return best + ELLIPSIS if best and kept >= min_words else None


def compose_line(parts: Sequence[Sequence[str]], width: int, sep: str) -> str:
    """One line of at most ``width`` columns from ``parts``, each a list of alternatives (most telling first,
    ending in a short form): the first alternative of each part that still fits is kept, in order; a part none
    of whose forms fits is left out. Nothing is cut mid-word (shorten the alternatives instead).

    >>> compose_line([["같은 플레이리스트 12개에 함께"], ["비슷한 사운드: 에너지, 템포", "비슷한 사운드"]], 46, " · ")
    '같은 플레이리스트 12개에 함께 · 비슷한 사운드'
    """
    out: list[str] = []
    for alts in parts:
        for alt in alts:
            if alt and display_width(sep.join([*out, alt])) <= width:
                out.append(alt)
                break
    return sep.join(out)


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
