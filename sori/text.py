"""Artist-name text helpers shared by the catalog writer and the chatbot: normalisation and Hangul romanisation.

:func:`normalize` is the one key every name lookup uses (``artists.name_norm``, ``artist_aliases.alias_norm``,
the chatbot's utterance), so "ＢＴＳ", "bts" and "B.T.S." all meet at ``"bts"``:

>>> normalize("(G)I-DLE"), normalize("Red Velvet"), normalize("ＢＴＳ"), normalize("엔시티 127")
('gidle', 'redvelvet', 'bts', '엔시티127')

:func:`hangul_romanize` turns Hangul into Revised-Romanization-like Latin, so a fuzzy matcher can compare a
name typed in Hangul with a Latin catalog name (and the other way round):

>>> hangul_romanize("샤이니"), hangul_romanize("트와이스"), hangul_romanize("블랙핑크")
('syaini', 'teuwaiseu', 'beullaekpingkeu')

Stdlib only, no module-level work beyond small tables: the chatbot imports this on its cold-start path.
"""
from __future__ import annotations

import unicodedata

__all__ = ["contains_hangul", "hangul_romanize", "is_hangul", "normalize"]

# Unicode general categories kept by normalize(): letters, marks and numbers of any script.
_KEEP = frozenset("LMN")


def _step(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)  # full-width -> ASCII, compatibility forms, jamo -> syllables
    s = unicodedata.normalize("NFKC", s.casefold())  # casefold can yield non-NFKC text (e.g. "ß" -> "ss")
    s = "".join(ch for ch in s if unicodedata.category(ch)[0] in _KEEP)
    return unicodedata.normalize("NFC", s)


def normalize(name: str) -> str:
    """The lookup key of a name: NFKC, casefolded, whitespace/punctuation/symbols dropped, NFC.

    Letters and digits of every script survive (Hangul, kana, accented Latin); spaces, punctuation,
    symbols and emoji do not. Idempotent: ``normalize(normalize(x)) == normalize(x)``.

    >>> normalize("  BLACKPINK "), normalize("Beyoncé"), normalize("P!nk 🎤"), normalize("(여자)아이들")
    ('blackpink', 'beyoncé', 'pnk', '여자아이들')
    """
    if not name:
        return ""
    # One pass is a fixed point for real names; the loop makes idempotence hold for any input (dropping a
    # character can bring a base letter and a combining mark together, which NFC/NFKC may then compose).
    prev, cur = None, _step(name)
    for _ in range(4):
        if cur == prev:
            break
        prev, cur = cur, _step(cur)
    return cur


# --- Hangul -------------------------------------------------------------------------------------------
# A precomposed syllable U+AC00..U+D7A3 is  0xAC00 + (initial * 21 + medial) * 28 + final  (Unicode §3.12),
# so each syllable decomposes arithmetically into its three jamo; each jamo then maps to its Revised
# Romanization (RR, 2000) spelling. Word-level rules applied: liaison (a final consonant before a syllable
# that starts with the silent ㅇ moves over and is read as an initial: 음악 -> eumak) and ㄹ+ㄹ -> "ll"
# (ㄹ final before an ㄹ initial: 블랙 -> beullaek keeps "ll"); an initial ㄹ is "r". Deeper phonological
# assimilation (e.g. 신라 -> Silla, ㄱ+ㄴ -> ngn) is not modelled: the output feeds fuzzy matching, where
# such differences cost a character or two, not an exact transcription.
_S_BASE, _S_LAST = 0xAC00, 0xD7A3
_INITIALS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_MEDIALS = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
            "yu", "eu", "ui", "i"]
# Final consonants at the end of a syllable (unreleased) ...
_FINALS = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
           "ng", "t", "t", "k", "t", "p", "t"]
# ... and the same finals carried over to a following silent-ㅇ syllable (liaison): (kept in the first
# syllable, moved to the next). Clusters keep their first consonant and move the second.
_LIAISON = [("", ""), ("", "g"), ("", "kk"), ("k", "s"), ("", "n"), ("n", "j"), ("n", "h"), ("", "d"), ("", "r"),
            ("l", "g"), ("l", "m"), ("l", "b"), ("l", "s"), ("l", "t"), ("l", "p"), ("l", "h"), ("", "m"),
            ("", "b"), ("p", "s"), ("", "s"), ("", "ss"), ("ng", ""), ("", "j"), ("", "ch"), ("", "k"), ("", "t"),
            ("", "p"), ("", "h")]
_SILENT_INITIAL = 11  # ㅇ
_RIEUL_INITIAL = 5  # ㄹ
_RIEUL_FINAL = 8  # ㄹ
# Hangul Compatibility Jamo (U+3131..U+3163: what a keyboard produces for a lone ㅋ or ㅏ).
_COMPAT = dict(zip(
    "ㄱㄲㄳㄴㄵㄶㄷㄸㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅃㅄㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ",
    ["g", "kk", "gs", "n", "nj", "nh", "d", "tt", "r", "lg", "lm", "lb", "ls", "lt", "lp", "lh", "m", "b", "pp",
     "bs", "s", "ss", "ng", "j", "jj", "ch", "k", "t", "p", "h", *_MEDIALS],
    strict=True,
))


def _syllable(ch: str) -> tuple[int, int, int] | None:
    code = ord(ch)
    if _S_BASE <= code <= _S_LAST:
        idx = code - _S_BASE
        return idx // 588, (idx % 588) // 28, idx % 28
    return None


def hangul_romanize(text: str, *, loose: bool = False) -> str:
    """Revised-Romanization-style Latin for the Hangul in ``text``; every other character passes through.

    Decomposes each syllable into initial/medial/final jamo arithmetically and spells them per RR, with
    liaison and the ㄹㄹ rule across syllables (see the module notes for what is not modelled).

    ``loose=True`` respells towards how Western names are written in Hangul, for matching a Hangul
    transcription against the original Latin name: the epenthetic ㅡ of loanwords is dropped from open
    syllables (트 -> "t", 스 -> "s": Korean adds it to spell a bare consonant; 블랙 -> "blaek", where ㄹ+ㄹ
    spells an "l" cluster) and ㅅ before i/y-vowels is "sh" (시 -> "shi", 샤 -> "sha").

    >>> hangul_romanize("방탄소년단"), hangul_romanize("음악"), hangul_romanize("엔시티 127")
    ('bangtansonyeondan', 'eumak', 'ensiti 127')
    >>> hangul_romanize("레드벨벳"), hangul_romanize("빌리 아일리시"), hangul_romanize("ㅋㅋ")
    ('redeubelbet', 'billi aillisi', 'kk')
    >>> hangul_romanize("트와이스", loose=True), hangul_romanize("샤이니", loose=True)
    ('twais', 'shaini')
    """
    text = unicodedata.normalize("NFC", text)  # conjoining jamo sequences -> precomposed syllables
    out: list[str] = []
    n = len(text)
    i = 0
    carry = ""  # consonant moved from the previous syllable's final (liaison)
    prev_rieul = False  # the previous character was a syllable ending in ㄹ
    while i < n:
        ch = text[i]
        syl = _syllable(ch)
        if syl is None:
            out.append(_COMPAT.get(ch, ch))
            carry, prev_rieul = "", False
            i += 1
            continue
        ini, med, fin = syl
        nxt = _syllable(text[i + 1]) if i + 1 < n else None
        if carry:
            initial = carry
        elif ini == _RIEUL_INITIAL and prev_rieul:
            initial = "l"  # ㄹ final + ㄹ initial -> "ll"
        else:
            initial = _INITIALS[ini]
        medial = _MEDIALS[med]
        if loose:
            if initial == "s" and medial[0] in "iy":
                initial, medial = "sh", medial.lstrip("y")
            elif medial == "eu" and initial and (
                    not fin or (fin == _RIEUL_FINAL and nxt is not None and nxt[0] == _RIEUL_INITIAL)):
                medial = ""  # 트 -> t; 블랙 -> bl-aek (ㄹ final + ㄹ initial spells a single "l" cluster)
        carry = ""
        if fin and nxt is not None and nxt[0] == _SILENT_INITIAL:
            keep, carry = _LIAISON[fin]
            final = keep
        else:
            final = _FINALS[fin]
        if loose and not medial and fin == _RIEUL_FINAL:
            final = ""
        out.append(initial + medial + final)
        prev_rieul = fin == _RIEUL_FINAL and not carry
        i += 1
    return "".join(out)


def _is_hangul_char(ch: str) -> bool:
    code = ord(ch)
    return (0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F
            or 0xA960 <= code <= 0xA97F or 0xD7B0 <= code <= 0xD7FF)


def contains_hangul(text: str) -> bool:
    """Whether any character of ``text`` is Hangul (syllable or jamo).

    >>> contains_hangul("BTS 방탄"), contains_hangul("BTS")
    (True, False)
    """
    return any(_is_hangul_char(ch) for ch in text)


def is_hangul(text: str) -> bool:
    """Whether ``text`` is written in Hangul: it has letters, and every letter is Hangul (digits, spaces and
    punctuation do not count either way).

    >>> is_hangul("엔시티 127"), is_hangul("(여자)아이들"), is_hangul("BTS 방탄"), is_hangul("127")
    (True, True, False, False)
    """
    letters = [ch for ch in text if unicodedata.category(ch)[0] == "L"]
    return bool(letters) and all(_is_hangul_char(ch) for ch in letters)
