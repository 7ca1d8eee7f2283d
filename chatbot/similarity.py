"""How alike two artist names look and sound: the pure similarity measures :mod:`chatbot.resolve` ranks with.

Fuzzy keys (decomposed jamo), Hangul-vs-Latin sound comparison (a consonant frame and the vowels, which must both
agree), search-result plausibility, and dotted-initialism forms ("M.U.S.E." is not the word "Muse").

>>> plausible("블랙핑크", "BLACKPINK"), plausible("뉴진스", "Nonsens")
(True, False)
>>> form_conflict("M.U.S.E.", "Muse"), form_conflict("B.T.S.", "BTS")
(True, False)
"""
from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from sori.text import contains_hangul, hangul_romanize, normalize

__all__ = ["MAX_ROMANIZED", "NAME_SUGGEST", "PHONETIC_CONFIRM", "PHONETIC_MIN_TOKENS", "PHONETIC_PREFILTER",
           "PHONETIC_SUGGEST", "VOWEL_CONFIRM", "VOWEL_SUGGEST", "form_conflict", "fuzzy_key", "name_similarity",
           "phonetic_distance", "phonetic_key", "phonetic_similarity", "plausible", "skeleton", "sound_similarity",
           "sounds_alike", "vowel_similarity"]

_WORD = re.compile(r"\S+")

# Hangul typed for a Latin name is compared by how it sounds (:func:`sound_similarity`): the consonant frame
# (phonetic_similarity) and the vowels (vowel_similarity) must both agree. Tuned on local/data/korean_names.tsv
# against the emulator's 10k real names: unrelated names that share a consonant frame ("뉴진스" / "Nonsens",
# "잔나비" / "Jon B.", "Sean&Bobo", "Jane Weaver") stay out; transliterations ("뉴진스" / "NewJeans", "잔나비" /
# "Jannabi", "블랙핑크" / "BLACKPINK", "콜드플레이" / "Coldplay") get in. Short keys (≤ 3 sounds) suggest nothing.
# CONFIRM is for Spotify's own top answer to a Hangul query (two signals agree), SUGGEST for our index alone.
PHONETIC_SUGGEST = 85.0
VOWEL_SUGGEST = 62.0
PHONETIC_CONFIRM = 85.0
VOWEL_CONFIRM = 50.0
PHONETIC_MIN_TOKENS = 4
PHONETIC_PREFILTER = 55.0  # rapidfuzz ratio over the keys, before the exact weighted distance
MAX_ROMANIZED = 3
NAME_SUGGEST = 72.0  # a search result offered as "did you mean" must be at least this close to what was asked


def fuzzy_key(norm: str) -> str:
    """Jamo-decomposed form: "블랙핑그" vs "블랙핑크" differ in one jamo instead of one whole syllable."""
    return unicodedata.normalize("NFD", norm)


# consonant skeleton: spelling-insensitive key for comparing romanised Hangul with Latin names
_SKEL_SUBS = (("ph", "p"), ("th", "t"), ("sh", "s"), ("ck", "k"), ("ch", "c"), ("kk", "k"), ("tt", "t"),
              ("pp", "p"), ("ss", "s"), ("jj", "j"), ("x", "ks"), ("q", "k"), ("c", "k"), ("v", "b"), ("f", "p"),
              ("z", "j"), ("w", ""), ("y", ""), ("h", ""))
_SKEL_FOLD = str.maketrans({"r": "l", "g": "k", "d": "t", "b": "p", "j": "s"})
_VOWELS = re.compile(r"[aeiou]+")
_REPEAT = re.compile(r"(.)\1+")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_EPENTHETIC_EU = re.compile(r"eu(?=[^aeiou]|$)")


def skeleton(name: str) -> str:
    """Consonant skeleton of a name, Hangul romanised first: close for names that *sound* alike.

    >>> skeleton("BLACKPINK"), skeleton("블랙핑크"), skeleton("Red Velvet"), skeleton("레드벨벳")
    ('plkpnk', 'plkpnk', 'ltplpt', 'ltplpt')
    """
    s = normalize(name)
    if contains_hangul(s):
        s = _EPENTHETIC_EU.sub("", hangul_romanize(s)).replace("ng", "n")
    s = _NON_ALNUM.sub("", s)
    for a, b in _SKEL_SUBS:
        s = s.replace(a, b)
    s = _VOWELS.sub("", s.translate(_SKEL_FOLD))
    return _REPEAT.sub(r"\1", s)


# Phonetic key: what a Korean transliteration keeps of a Latin name. Consonants fold into the classes Hangul
# spells alike (b/p/v/f, d/t, g/k/c/q, r/l, j/z/ch); every vowel group is one "V" (vowel quality is where
# transliterations differ most); h, silent in most transliterations, is dropped; a leading "The" is not said.
_PH_DIGRAPHS = (("tch", "C"), ("ph", "p"), ("th", "t"), ("sh", "s"), ("ch", "C"), ("ck", "k"), ("gh", ""),
                ("qu", "kw"), ("x", "ks"), ("wh", "w"))
_PH_SOFT_C = re.compile(r"c(?=[eiy])")
_PH_FOLD = {"C": "j", "c": "k", "q": "k", "v": "p", "b": "p", "f": "p", "z": "j", "g": "k", "d": "t", "r": "l"}
_PH_ARTICLE = re.compile(r"^\s*the\s+", re.IGNORECASE)
_PH_NEAR = {frozenset("sj"): 0.5, frozenset("ts"): 0.5}  # 뮤즈 ~ Muse, 진스 ~ Jeans; "th" is spelled ㅅ or ㄷ


def phonetic_key(name: str) -> str:
    """The phonetic key of a name (Hangul romanised loosely first): one letter per sound class, "V" per vowel.

    >>> phonetic_key("뉴진스"), phonetic_key("NewJeans"), phonetic_key("Nonsens"), phonetic_key("The Weeknd")
    ('nVjVns', 'nVjVns', 'nVnsVns', 'Vknt')
    """
    s = normalize(_PH_ARTICLE.sub("", name))
    if contains_hangul(s):
        s = hangul_romanize(s, loose=True)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and c.isalnum())
    for a, b in _PH_DIGRAPHS:
        s = s.replace(a, b)
    s = _PH_SOFT_C.sub("s", s)
    out: list[str] = []
    for ch in s:
        tok = "V" if ch in "aeiouyw" else _PH_FOLD.get(ch, "" if ch == "h" else ch)
        if tok and (not out or out[-1] != tok):
            out.append(tok)
    return "".join(out)


def phonetic_distance(a: str, b: str) -> float:
    """Weighted edit distance over phonetic keys: near consonants (s/j, t/s) cost half; a vowel group added or
    dropped at the end costs 0.5 (a silent final e, an epenthetic final vowel), anywhere else 1 (a syllable)."""
    n, m = len(a), len(b)

    def indel(tok: str, at_end: bool) -> float:
        return 0.5 if tok == "V" and at_end else 1.0

    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + 1.0
    for i in range(1, n + 1):
        cur = [prev[0] + 1.0] + [0.0] * m
        for j in range(1, m + 1):
            x, y = a[i - 1], b[j - 1]
            sub = 0.0 if x == y else _PH_NEAR.get(frozenset((x, y)), 1.0)
            cur[j] = min(prev[j] + indel(x, j == m), cur[j - 1] + indel(y, i == n), prev[j - 1] + sub)
        prev = cur
    return prev[m]


def phonetic_similarity(a: str, b: str) -> float:
    """0..100: how alike two names sound through Korean transliteration (either may be Hangul).

    >>> [round(phonetic_similarity("뉴진스", n)) for n in ("NewJeans", "Nonsens", "Noise Cans")]
    [100, 79, 69]
    >>> [round(phonetic_similarity("잔나비", n)) for n in ("Jannabi", "Jon B.", "Sean&Bobo")]
    [100, 75, 79]
    """
    ka, kb = phonetic_key(a), phonetic_key(b)
    if not ka or not kb:
        return 0.0
    return max(0.0, 100.0 * (1.0 - phonetic_distance(ka, kb) / max(len(ka), len(kb))))


# Vowel key: the same name with its vowels kept in five classes (a e i o u; y is i, w is u), Korean spellings of
# English vowels folded first (eo -> o, eu -> u, ae/oe -> e), English digraphs too (ee/ea/ie -> i, oo/ou -> u,
# a final silent e dropped). Vowel differences cost less than consonant ones.
_V_KO = (("eo", "o"), ("eu", "u"), ("ae", "e"), ("oe", "e"), ("ui", "i"))
_V_EN = (("ee", "i"), ("ea", "i"), ("ie", "i"), ("oo", "u"), ("ou", "u"))
_VOWELS5 = frozenset("aeiou")


def _vowel_key(name: str) -> str:
    s = normalize(_PH_ARTICLE.sub("", name))
    korean = contains_hangul(s)
    if korean:
        s = hangul_romanize(s, loose=True)
        for a, b in _V_KO:
            s = s.replace(a, b)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and c.isalnum())
    if not korean:
        for a, b in _V_EN:
            s = s.replace(a, b)
        if len(s) > 3 and s.endswith("e"):
            s = s[:-1]
    for a, b in _PH_DIGRAPHS:
        s = s.replace(a, b)
    s = _PH_SOFT_C.sub("s", s)
    out: list[str] = []
    for ch in s:
        tok = {"y": "i", "w": "u"}.get(ch) or (ch if ch in _VOWELS5 else _PH_FOLD.get(ch, "" if ch == "h" else ch))
        if tok and (not out or out[-1] != tok):
            out.append(tok)
    return "".join(out)


def _vowel_distance(a: str, b: str) -> float:
    n, m = len(a), len(b)

    def indel(tok: str, at_end: bool) -> float:
        return (0.4 if at_end else 0.9) if tok in _VOWELS5 else 1.0

    def sub(x: str, y: str) -> float:
        if x == y:
            return 0.0
        if x in _VOWELS5 and y in _VOWELS5:
            return 0.5
        return _PH_NEAR.get(frozenset((x, y)), 1.0)

    prev = [0.0] * (m + 1)
    for j in range(1, m + 1):
        prev[j] = prev[j - 1] + indel(b[j - 1], False)
    for i in range(1, n + 1):
        cur = [prev[0] + indel(a[i - 1], False)] + [0.0] * m
        for j in range(1, m + 1):
            x, y = a[i - 1], b[j - 1]
            cur[j] = min(prev[j] + indel(x, j == m), cur[j - 1] + indel(y, i == n), prev[j - 1] + sub(x, y))
        prev = cur
    return prev[m]


def vowel_similarity(a: str, b: str) -> float:
    """0..100: :func:`phonetic_similarity` with the vowels told apart (a vowel counts 0.6 of a consonant).

    >>> round(vowel_similarity("잔나비", "Jannabi")), round(vowel_similarity("잔나비", "Jane Weaver"))
    (100, 46)
    """
    ka, kb = _vowel_key(a), _vowel_key(b)
    if not ka or not kb:
        return 0.0

    def size(k: str) -> float:
        return sum(0.6 if t in _VOWELS5 else 1.0 for t in k)

    return max(0.0, 100.0 * (1.0 - _vowel_distance(ka, kb) / max(size(ka), size(kb))))


def sound_similarity(a: str, b: str) -> tuple[float, float]:
    """(consonant frame, vowels): :func:`phonetic_similarity` and :func:`vowel_similarity` of two names."""
    return phonetic_similarity(a, b), vowel_similarity(a, b)


def sounds_alike(a: str, b: str, frame: float, vowels: float) -> bool:
    if len(phonetic_key(a)) < PHONETIC_MIN_TOKENS:
        return False
    f, v = sound_similarity(a, b)
    return f >= frame and v >= vowels


def _words(text: str) -> set[str]:
    return {w for w in (normalize(x) for x in _WORD.findall(text)) if len(w) >= 2}


def name_similarity(query: str, name: str) -> float:
    """0..100: could ``name`` be what someone typing ``query`` meant? Across scripts (Hangul vs Latin) through
    :func:`phonetic_similarity`; within a script the jamo-aware ratio, or 90 when one's words are all among the
    other's ("taylor" / "Taylor Swift"). Unrelated names stay under :data:`NAME_SUGGEST`.

    >>> round(name_similarity("taylor", "Taylor Swift")), round(name_similarity("blakpink", "BLACKPINK"))
    (90, 94)
    >>> round(name_similarity("Qxvwz Jplk", "Jon B.")), round(name_similarity("뉴진스", "Nonsens"))
    (15, 60)
    """
    qn, nn = normalize(query), normalize(name)
    if not qn or not nn:
        return 0.0
    if contains_hangul(qn) != contains_hangul(nn):
        return min(sound_similarity(query, name))
    score = float(fuzz.ratio(fuzzy_key(qn), fuzzy_key(nn)))
    wq, wn = _words(query), _words(name)
    common = wq & wn
    if common and common in (wq, wn) and sum(map(len, common)) >= 4:
        score = max(score, 90.0)
    return score


def plausible(query: str, name: str) -> bool:
    """May ``name`` be offered as "did you mean" for ``query``? Across scripts both sound measures must agree
    (:data:`PHONETIC_SUGGEST`, :data:`VOWEL_SUGGEST`); within a script :func:`name_similarity` ≥
    :data:`NAME_SUGGEST`.

    >>> plausible("뉴진스", "NewJeans"), plausible("뉴진스", "Nonsens"), plausible("잔나비", "Jon B.")
    (True, False, False)
    """
    qn, nn = normalize(query), normalize(name)
    if qn and nn and contains_hangul(qn) != contains_hangul(nn):
        hangul, latin = (query, name) if contains_hangul(qn) else (name, query)
        return sounds_alike(hangul, latin, PHONETIC_SUGGEST, VOWEL_SUGGEST)
    return name_similarity(query, name) >= NAME_SUGGEST


# Dotted initialisms ("M.U.S.E.", "B.T.S.", "N.W.A"): two or more single letters, each followed by a dot.
_DOTTED = re.compile(r"(?<![^\W\d_])(?:[^\W_]\.){2,}")


def _dotted(s: str) -> bool:
    return bool(_DOTTED.search(s))


def _acronym(s: str) -> bool:
    cased = [c for c in s if c.isupper() or c.islower()]
    return len(cased) >= 2 and all(c.isupper() for c in cased)


def form_conflict(said: str, name: str) -> bool:
    """Do ``said`` and ``name`` — equal once normalised — differ in a way that names a different artist?

    Punctuation and case are dropped by :func:`normalize` so that "b.t.s." finds BTS; but a dotted initialism is
    a name of its own: "M.U.S.E." is not the band Muse. One side dotted, the other written as a word (with
    lowercase letters) is a conflict; an all-caps side is the same initialism without its dots ("B.T.S." / "BTS").

    >>> form_conflict("M.U.S.E.", "Muse"), form_conflict("muse", "M.U.S.E."), form_conflict("B.T.S.", "BTS")
    (True, True, False)
    >>> form_conflict("bts", "BTS"), form_conflict("MUSE", "M.U.S.E."), form_conflict("(G)I-DLE", "gidle")
    (False, False, False)
    """
    if _dotted(said) == _dotted(name):
        return False
    return not _acronym(name if _dotted(said) else said)
