"""Name resolution chain: exact (case, spaces, punctuation, full-width, NFC) → aliases → fuzzy → romanized →
search judging; sentences and song titles."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_chatbot_fakes import ALIASES, ARTISTS, BPK, BTS, IU, LOVE, RVT, SHN

from chatbot.resolve import NameIndex, core_query, is_greeting, is_help, judge_search, resolve, skeleton
from sori.text import normalize

NAMES = [(k, a["name"], normalize(a["name"])) for k, a in ARTISTS.items()]


@pytest.fixture(scope="module")
def index() -> NameIndex:
    return NameIndex(NAMES, ALIASES)


def _one(utt: str, index: NameIndex):
    r = resolve(utt, index)
    assert r.kind == "artist", (utt, r)
    return r.best


@pytest.mark.parametrize("utt", ["BLACKPINK", "blackpink", "Black Pink", "black-pink!", "ＢＬＡＣＫＰＩＮＫ",
                                 "  BlackPink  ", "B.L.A.C.K.P.I.N.K"])
def test_exact_match_ignores_case_spaces_punctuation_fullwidth(utt, index):
    best = _one(utt, index)
    assert (best.artist_id, best.how) == (BPK, "exact")


def test_exact_match_of_punctuated_name(index):
    assert _one("(G)I-DLE", index).name == "(G)I-DLE"
    assert _one("gidle", index).name == "(G)I-DLE"


@pytest.mark.parametrize("utt,expected", [("샤이니", SHN), ("방탄소년단", BTS), ("방탄", BTS), ("블랙핑크", BPK),
                                          ("아이유", IU), ("여자아이들", "gid0000000000000000012")])
def test_hangul_aliases(utt, expected, index):
    best = _one(utt, index)
    assert (best.artist_id, best.how) == (expected, "alias")


def test_hangul_in_decomposed_form_is_nfc_normalised(index):
    decomposed = unicodedata.normalize("NFD", "샤이니")
    assert decomposed != "샤이니"
    assert _one(decomposed, index).artist_id == SHN


@pytest.mark.parametrize("utt,expected", [
    ("BLACKPINK 같은 가수 추천해줘", BPK),
    ("블랙핑크같은가수추천", BPK),
    ("샤이니랑 비슷한 노래 알려줘", SHN),
    ("artists like Red Velvet", RVT),
    ("I love Red Velvet songs", RVT),
    ("who sounds like BTS?", BTS),
    ("방탄소년단 노래 좋아하는데 비슷한 가수 있어?", BTS),
    ("아이유의 노래", IU),
    ("BTS는 좋아", BTS),
])
def test_free_sentences(utt, expected, index):
    assert _one(utt, index).artist_id == expected


def test_marker_beats_longer_unmarked_name(index):
    # "love" is an artist too, but the name next to "like" is the one asked about
    assert _one("love songs like BTS", index).artist_id == BTS
    # a bare filler word that is also a name still finds that artist
    assert _one("Love", index).artist_id == LOVE


@pytest.mark.parametrize("utt,expected", [("blakpink", BPK), ("Red Velvt", RVT), ("BLACKPIMK 같은 가수", BPK),
                                          ("블랙핑그", BPK), ("샤이나", None)])
def test_typos_are_corrected_when_clear(utt, expected, index):
    r = resolve(utt, index)
    if expected is None:  # too close to call on its own: offered, not assumed
        assert r.kind == "ambiguous" and SHN in [c.artist_id for c in r.candidates]
    else:
        assert r.best is not None and (r.kind, r.best.artist_id, r.best.how) == ("artist", expected, "fuzzy")


def test_short_names_are_not_fuzzily_corrected(index):
    r = resolve("BTX", index)
    assert r.kind == "unknown" and r.query == "BTX"


def test_romanized_hangul_is_only_suggested():
    idx = NameIndex(NAMES)  # no aliases: 레드벨벳 is known only by its Latin spelling
    r = resolve("레드벨벳", idx)
    assert r.kind == "ambiguous"
    assert r.candidates[0].artist_id == RVT and r.candidates[0].how == "romanized"


def test_same_name_artists_are_all_candidates(index):
    r = resolve("Rain", index)
    assert r.kind == "artist" and {c.artist_id for c in r.candidates} == {"rna0000000000000000010",
                                                                          "rnb0000000000000000011"}


def test_unknown_names_go_to_search_with_the_core_words(index):
    r = resolve("NewJeans 같은 가수 추천해줘", index)
    assert r.kind == "unknown" and r.query == "NewJeans"
    assert resolve("Dynamite 노래", index).query == "Dynamite"


@pytest.mark.parametrize("utt", ["", "   ", "?!", "ㅋ", "같은 가수 추천해줘"])
def test_nothing_to_resolve(utt, index):
    assert resolve(utt, index).kind in ("empty", "unknown")


def test_core_query():
    assert core_query("BLACKPINK 같은 가수 추천해줘") == "BLACKPINK"
    assert core_query("(여자)아이들이랑 비슷한 노래") == "(여자)아이들"
    assert core_query("similar artists to Ed Sheeran please") == "Ed Sheeran"
    assert core_query("싸이") == "싸이"


def test_greeting_and_help():
    assert is_greeting("안녕하세요!") and is_greeting("Hello") and not is_greeting("BTS")
    assert is_help("도움말") and is_help("") and is_help("???") and not is_help("IU")


def test_skeleton_bridges_hangul_and_latin():
    assert skeleton("블랙핑크") == skeleton("BLACKPINK")
    assert skeleton("레드벨벳") == skeleton("Red Velvet")
    assert skeleton("몬스타엑스") == skeleton("Monsta X")


# -- judging a Spotify search ------------------------------------------------------------------------------------

def _a(i, name):
    return {"id": i, "name": name}


def test_search_exact_name_is_a_clear_match(index):
    v = judge_search("newjeans", [_a("n1", "NewJeans"), _a("n2", "NewJeans Tribute")], [], index)
    assert v.match and v.match.artist_id == "n1" and not v.match.known and v.alias is None


def test_search_song_title_finds_its_artist(index):
    track = {"id": "t1", "name": "Dynamite", "artists": [_a(BTS, "BTS")]}
    v = judge_search("Dynamite", [_a("d1", "Dynamite Kid")], [track], index)
    assert v.match and v.match.artist_id == BTS and v.match.how == "track" and v.match.known


def test_search_confirms_a_hangul_alias_only_when_it_sounds_alike(index):
    v = judge_search("뉴진스", [_a("nj", "NewJeans")], [], index)
    assert v.match and v.match.artist_id == "nj" and v.alias == "뉴진스"
    v = judge_search("사랑", [_a("x", "Big Love Band")], [], index)
    assert v.match is None and v.alias is None and [c.artist_id for c in v.candidates] == ["x"]


def test_search_never_matches_arbitrary_text(index):
    v = judge_search("'; DROP TABLE artists; --", [_a("x", "Drop Table"), _a("y", "Artists")],
                     [{"id": "t", "name": "Drop", "artists": [_a("z", "Z")]}], index)
    assert v.match is None and len(v.candidates) == 3


def test_search_ignores_malformed_results(index):
    v = judge_search("x", [{"name": "no id"}, None, "str"], [{"name": "x", "artists": []}], index)  # type: ignore
    assert v == judge_search("x", [], [], index)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_resolve_never_raises(text):
    idx = NameIndex(NAMES, ALIASES)
    r = resolve(text, idx)
    assert r.kind in ("artist", "ambiguous", "unknown", "empty")
    assert len(r.candidates) <= 5
