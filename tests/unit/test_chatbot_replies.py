"""Reply builders: every kind validates against Kakao's limits, whatever the data (long names, emoji, junk)."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot import replies
from sori.kakao import LABEL_MAX, validate_response

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
    assert all(len(q["label"]) <= LABEL_MAX for q in tpl["quickReplies"])
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
    assert replies.reason_text("en", {"shared": "not a list", "features": ["unknown_thing"]}) == "Similar: unknown_thing"


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
