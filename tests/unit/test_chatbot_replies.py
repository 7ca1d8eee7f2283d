"""Reply builders: every kind validates against Kakao's limits, whatever the data (long names, emoji, junk)."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot import replies
from chatbot.i18n import STRINGS
from sori.kakao import LABEL_MAX, LIST_ITEM_LINE_WIDTH, display_width, text_length, validate_response
from sori.kakao.limits import QUICK_REPLY_LABEL_BUDGET
from sori.related.reasons import FEATURE_NAMES
from sori.spotify.sources import FEATURE_KEYS

LONG = "아주 긴 이름의 가수 " * 40 + "🎤👩‍👩‍👧‍👦"


def _artist(i=0, name=None):
    return {"id": f"id{i}", "name": name or f"Artist {i}", "image_url": "https://img.example/a.jpg",
            "genres": ["k-pop", "dance"]}


def _track(i, name=None):
    return {"track_id": f"t{i}", "name": name or f"Song {i}", "album": "Album", "url": f"https://open.spotify.com/track/t{i}",
            "album_image": "https://img.example/t.jpg"}


def _related(n, name=None):
    return [{"related_id": f"r{i}", "rank": i, "score": 0.5, "name": name or f"Rel {i}", "image_url": None,
             "genres": None, "reason": {"shared": ["Top 50 - Korea"] * 5, "features": ["energy", "tempo", "weird"]}}
            for i in range(1, n + 1)]


def test_related_reply_respects_every_limit_with_long_names():
    rel = _related(10, LONG)
    r = replies.related_reply("ko", _artist(0, LONG), [_track(i, LONG) for i in range(9)], rel,
                              {x["related_id"]: [_track(i, LONG) for i in range(9)] for x in rel})
    assert validate_response(r) == []
    tpl = r["template"]
    cards = tpl["outputs"][1]["carousel"]["items"]
    assert len(cards) == 5 and all(len(c["items"]) <= 4 and len(c.get("buttons", [])) <= 2 for c in cards)
    assert len(tpl["quickReplies"]) <= 10
    assert all(len(q["label"]) <= QUICK_REPLY_LABEL_BUDGET for q in tpl["quickReplies"])
    # the full name still goes out when a truncated label is tapped
    assert tpl["quickReplies"][0]["messageText"].startswith(LONG.strip()[:20])


def test_related_reply_with_fewer_related_and_no_tracks():
    r = replies.related_reply("en", {"id": "x", "name": "X"}, [], _related(1), {})
    assert validate_response(r) == []
    cards = r["template"]["outputs"][1]["carousel"]["items"]
    assert [c["header"]["title"] for c in cards] == ["X", "Rel 1"]
    assert "quickReplies" in r["template"]  # help, at least


def test_reason_text():
    assert replies.reason_text("ko", {"shared": ["A"], "features": ["danceability"]}) == "함께 등장: A · 비슷한 점: 댄스"
    assert replies.reason_text("en", {"shared": [], "features": []}, 0.87) == "similarity 87%"
    assert replies.reason_text("ko", "garbage", "x") == ""
    # a feature without a readable name is left out, never printed raw (issue 14 item 7)
    assert replies.reason_text("en", {"shared": "not a list", "features": ["unknown_thing"]}) == ""
    assert replies.reason_text("ko", {"features": ["duration_ms"]}) == "비슷한 점: 곡 길이"


def test_ready_when_is_the_next_5am_kst():
    utc = dt.UTC
    assert replies.ready_when(dt.datetime(2026, 11, 20, 19, 59, tzinfo=utc)) == "when_today"  # 04:59 KST
    assert replies.ready_when(dt.datetime(2026, 11, 20, 20, 0, tzinfo=utc)) == "when_tomorrow"  # 05:00 KST


def test_track_view_accepts_dynamo_items_and_spotify_tracks():
    d = replies.track_view({"track_id": "t", "name": "N", "album": "A", "album_image": "not a url", "url": None})
    assert d == {"track_id": "t", "name": "N", "album": "A", "album_image": None,
                 "url": "https://open.spotify.com/track/t"}


def test_artist_url_escapes_ids():
    assert replies.artist_url("a b/c") == "https://open.spotify.com/artist/a%20b%2Fc"


_text = st.text(max_size=120)
_maybe = st.one_of(st.none(), _text, st.integers(), st.floats(allow_nan=True))


@settings(max_examples=150, deadline=None)
@given(name=_text, tracks=st.lists(st.dictionaries(st.sampled_from(["name", "album", "url", "album_image",
                                                                     "track_id"]), _maybe), max_size=8),
       rel_names=st.lists(_text, max_size=12), lang=st.sampled_from(["ko", "en"]), query=_text)
def test_every_reply_kind_validates_on_arbitrary_data(name, tracks, rel_names, lang, query):
    artist = {"id": name or "x", "name": name, "genres": [name]}
    rel = [{"related_id": f"r{i}", "name": n, "reason": {"shared": [n]}, "score": 0.3}
           for i, n in enumerate(rel_names)]
    out = [
        replies.related_reply(lang, artist, tracks, rel, {r["related_id"]: tracks for r in rel}),
        replies.pending_reply(lang, artist, tracks, new=True),
        replies.pending_reply(lang, artist, tracks, new=False),
        replies.did_you_mean_reply(lang, query, [{"artist_id": f"c{i}", "name": n} for i, n in enumerate(rel_names)]),
        replies.not_found_reply(lang, query, [("a", name)]),
        replies.help_reply(lang, [("a", name)]),
        replies.greeting_reply(lang),
        replies.timeout_reply(lang, query),
        replies.busy_reply(lang, query),
        replies.error_reply(lang),
    ]
    for r in out:
        assert validate_response(r) == [], r


# --- issue 14 item 7: what a reply says ----------------------------------------------------------------------------

_VISIBLE = ("text", "title", "description", "label", "messageText")
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def visible_texts(obj) -> list[str]:
    """Every string a user sees (or sends by tapping) in a reply: no URLs, ids or ``extra``."""
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _VISIBLE and isinstance(v, str):
                out.append(v)
            elif k != "extra":
                out += visible_texts(v)
    elif isinstance(obj, list):
        for v in obj:
            out += visible_texts(v)
    return out


ALL_FEATURES = [*FEATURE_KEYS, "genre"]
V1_REASONS = [{"shared": ["Top 50 - Korea"], "features": [f, "tempo"]} for f in ALL_FEATURES] + [
    {"features": ALL_FEATURES}, {"features": ["duration_ms"]}, {"features": ["no_such_feature", "energy"]},
    {"mode": "hybrid", "features": ["duration_ms", "valence"], "feature_labels": ["track length", "mood (valence)"]},
]
V2_REASONS = [{"v": 2, "mode": m, "parts": ["audio"], "features": [f, "duration_ms"]}
              for m in ("blend", "sound") for f in ALL_FEATURES]


def _rel(reasons):
    return [{"related_id": f"r{i}", "name": f"Rel {i}", "score": 0.5, "reason": r} for i, r in enumerate(reasons)]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_no_reply_shows_a_snake_case_field_name(lang):
    # failed before: 'duration_ms' had no i18n string and was printed raw ("Similar: duration_ms, tempo")
    seen = []
    for reasons in ([r] for r in V1_REASONS + V2_REASONS):
        body = replies.related_reply(lang, _artist(0), [_track(1)], _rel(reasons), {})
        seen += [s for s in visible_texts(body) if _SNAKE.search(s)]
    assert seen == []


def test_every_feature_has_a_name_in_both_languages():
    for lang in ("ko", "en"):
        for f in ALL_FEATURES:
            assert f"feature.{f}" in STRINGS[lang], (lang, f)
            assert not _SNAKE.search(STRINGS[lang][f"feature.{f}"])
        for f in FEATURE_KEYS:
            assert f in FEATURE_NAMES[lang], (lang, f)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_button_labels_fit_kakaos_limit_without_being_cut(lang):
    # failed before: the English "Play on Spotify" (15) went out as "Play on Spoti…" (Button.label ≤ 14)
    for key in ("listen", "similar_button"):
        assert text_length(STRINGS[lang][key]) <= LABEL_MAX, (lang, key)
    body = replies.related_reply(lang, _artist(0), [_track(1)], _related(4), {})
    labels = [b["label"] for c in body["template"]["outputs"][1]["carousel"]["items"] for b in c["buttons"]]
    assert labels and not any(x.endswith("…") for x in labels)
    assert STRINGS[lang]["listen"] in labels and STRINGS[lang]["similar_button"] in labels


def test_artist_names_are_whole_in_quick_replies():
    # failed before: quick replies were cut at the button rule's 14 ("Panic! At The…"); Kakao documents no limit
    names = ["Panic! At The Disco", "Selena Gomez & The Scene", "Earth, Wind & Fire", "Red Velvet - IRENE & SEULGI"]
    rel = [{"related_id": f"r{i}", "name": n, "score": 0.5, "reason": None} for i, n in enumerate(["a"] * 4 + names)]
    body = replies.related_reply("en", _artist(0), [], rel, {})
    assert [q["label"] for q in body["template"]["quickReplies"]][:4] == names
    dym = replies.did_you_mean_reply("ko", "panic", [{"artist_id": "x", "name": names[0]}])
    assert dym["template"]["quickReplies"][0]["label"] == names[0]


LONG_REASONS = [
    {"shared": ["Top 50 - South Korea 2026-11-19", "K-Pop Daebak Hits of the Year", "x"],
     "features": ["danceability", "energy", "speechiness"]},
    {"shared": ["Supercalifragilisticexpialidocious Playlist Of Everything"], "features": ["energy"]},
    {"shared": [{"kind": "chart", "id": "c", "name": "South Korea 2026-11-19"}] * 4},
    {"v": 2, "mode": "blend", "parts": ["playlist", "collab", "audio"], "playlists": 12,
     "collab": ["I Know What You Did Last Summer", "Señorita"], "features": ["energy", "tempo"]},
    {"v": 2, "mode": "blend", "parts": ["session", "chart"], "sessions": 37, "charts": ["Top 50 · Global", "Viral 50"]},
    {"v": 2, "mode": "blend", "parts": ["genre", "audio"], "genres": ["k-pop girl group", "k-pop"],
     "features": ["instrumentalness", "speechiness"]},
    {"v": 2, "mode": "sound", "parts": ["audio"], "features": ["speechiness", "instrumentalness"]},
]


def _words(reason) -> set[str]:
    return set(re.findall(r"\w+", json.dumps(reason, ensure_ascii=False)))


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("reason", LONG_REASONS)
def test_reason_lines_fit_one_row_and_no_word_is_cut(lang, reason):
    # failed before: reason lines of 41-100 characters in rows that show about one line
    body = replies.related_reply(lang, _artist(0), [_track(1)], _rel([reason]), {})
    line = body["template"]["outputs"][1]["carousel"]["items"][1]["items"][0]["description"]
    assert line and display_width(line) <= LIST_ITEM_LINE_WIDTH, line
    for m in re.finditer(r"(\w+)\W*…", line):  # a shortened name ends on a whole word of the source
        assert m.group(1) in _words(reason), (m.group(1), line)
