"""sori.text: the name key every lookup uses, and Hangul romanisation for fuzzy matching."""
from __future__ import annotations

import doctest
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sori.text
from sori.text import contains_hangul, hangul_romanize, is_hangul, normalize


@pytest.mark.parametrize("raw, key", [
    ("(G)I-DLE", "gidle"),
    ("Red Velvet", "redvelvet"),
    ("ＢＴＳ", "bts"),  # full-width
    ("BLACKPINK", "blackpink"),
    ("  blackpink\t", "blackpink"),
    ("B.T.S.", "bts"),
    ("NCT 127", "nct127"),
    ("엔시티 127", "엔시티127"),
    ("(여자)아이들", "여자아이들"),
    ("Maroon 5", "maroon5"),
    ("Ｍａｒｏｏｎ　５", "maroon5"),  # full-width letters, digit and ideographic space
    ("IZ*ONE", "izone"),
    ("P!nk", "pnk"),
    ("f(x)", "fx"),
    ("Beyoncé", "beyoncé"),
    ("Beyonce\u0301", "beyoncé"),  # decomposed input -> NFC
    ("Straße", "strasse"),  # casefold
    ("BTS 💜", "bts"),  # emoji dropped
    ("Tyler, The Creator", "tylerthecreator"),
    ("Guns N' Roses", "gunsnroses"),
    ("AC/DC", "acdc"),
    ("ヨルシカ", "ヨルシカ"),
    ("ﾖﾙｼｶ", "ヨルシカ"),  # half-width katakana
    ("周杰倫", "周杰倫"),
    ("Ⅳ", "iv"),  # compatibility numeral
    ("", ""),
    ("!!! ...", ""),
])
def test_normalize(raw, key):
    assert normalize(raw) == key


def test_normalize_hangul_from_conjoining_jamo():
    decomposed = unicodedata.normalize("NFD", "방탄소년단")
    assert decomposed != "방탄소년단"
    assert normalize(decomposed) == "방탄소년단"


def test_normalized_forms_meet():
    assert len({normalize(s) for s in ("BTS", "bts", "B T S", "ＢＴＳ", "b.t.s", " Bts ")}) == 1


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_normalize_idempotent(s):
    once = normalize(s)
    assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_output_is_nfc_letters_marks_digits(s):
    out = normalize(s)
    assert unicodedata.is_normalized("NFC", out)
    assert all(unicodedata.category(ch)[0] in "LMN" for ch in out)
    assert out == out.casefold() or normalize(out.casefold()) == out


def _nfkc_has_no_letters(ch: str) -> bool:
    # NFKC first: some symbols are compatibility forms of letters (the radical "⻳" is "龟"); those survive
    return not any(unicodedata.category(c)[0] in "LMN" for c in unicodedata.normalize("NFKC", ch))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(whitelist_categories=("Zs", "Pd", "Po", "Ps", "Pe", "So", "Sm", "Cc"))
               .filter(_nfkc_has_no_letters)))
def test_normalize_drops_spaces_punctuation_symbols(s):
    assert normalize(s) == ""


def test_symbols_that_are_compatibility_letters_survive():
    assert normalize("⻳") == "龟"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1))
def test_normalize_keeps_hangul_syllables(s):
    assert normalize(s) == s


@pytest.mark.parametrize("hangul, latin", [
    ("샤이니", "syaini"),
    ("트와이스", "teuwaiseu"),
    ("방탄소년단", "bangtansonyeondan"),
    ("블랙핑크", "beullaekpingkeu"),
    ("레드벨벳", "redeubelbet"),
    ("세븐틴", "sebeuntin"),
    ("있지", "itji"),
    ("태연", "taeyeon"),
    ("싸이", "ssai"),
    ("음악", "eumak"),  # liaison: final ㅁ moves to the silent-ㅇ syllable
    ("한국어", "hangugeo"),  # liaison of ㄱ
    ("빌리", "billi"),  # ㄹ + ㄹ -> ll
    ("닭", "dak"),  # cluster final, word end
    ("값이", "gapsi"),  # cluster: first stays, second moves
    ("엔시티 127", "ensiti 127"),
    ("BTS 방탄", "BTS bangtan"),
    ("ㅋㅋ", "kk"),  # compatibility jamo
    ("", ""),
])
def test_hangul_romanize(hangul, latin):
    assert hangul_romanize(hangul) == latin


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1))
def test_romanize_every_syllable_to_ascii_letters(s):
    out = hangul_romanize(s)
    assert out.isascii() and out.isalpha()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF)))
def test_romanize_leaves_non_hangul_alone(s):
    assert hangul_romanize(s) == unicodedata.normalize("NFC", s)


@pytest.mark.parametrize("hangul, latin", [
    ("샤이니", "shaini"),
    ("트와이스", "twais"),
    ("블랙핑크", "blaekpingk"),
    ("블루", "blu"),
    ("콜드플레이", "koldplei"),
    ("에드 시런", "ed shireon"),
    ("으악", "euak"),  # a lone 으 is a real vowel, not epenthetic
    ("음악", "eumak"),
])
def test_hangul_romanize_loose(hangul, latin):
    assert hangul_romanize(hangul, loose=True) == latin


@pytest.mark.parametrize("hangul, latin, other", [
    ("샤이니", "SHINee", "SEVENTEEN"),
    ("트와이스", "TWICE", "BLACKPINK"),
    ("블랙핑크", "BLACKPINK", "TWICE"),
    ("콜드플레이", "Coldplay", "Eminem"),
    ("테일러 스위프트", "Taylor Swift", "Post Malone"),
    ("레드벨벳", "Red Velvet", "Maroon 5"),
])
def test_loose_romanization_brings_transcriptions_closer(hangul, latin, other):
    from rapidfuzz import fuzz

    target = normalize(latin)
    rr = fuzz.ratio(normalize(hangul_romanize(hangul)), target)
    loose = fuzz.ratio(normalize(hangul_romanize(hangul, loose=True)), target)
    assert loose > rr
    assert loose > fuzz.ratio(normalize(hangul_romanize(hangul, loose=True)), normalize(other))


@pytest.mark.parametrize("s, hangul, contains", [
    ("방탄소년단", True, True),
    ("엔시티 127", True, True),
    ("(여자)아이들", True, True),
    ("ㅋㅋ", True, True),
    ("BTS 방탄", False, True),
    ("BTS", False, False),
    ("127", False, False),
    ("", False, False),
    ("ヨルシカ", False, False),
])
def test_is_hangul(s, hangul, contains):
    assert is_hangul(s) is hangul
    assert contains_hangul(s) is contains


def test_doctests():
    res = doctest.testmod(sori.text)
    assert res.attempted > 0 and res.failed == 0


def test_text_module_stays_stdlib_only():
    import ast
    import sys

    tree = ast.parse(Path(sori.text.__file__).read_text(encoding="utf-8"))
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert mods <= set(sys.stdlib_module_names) | {"__future__"}
