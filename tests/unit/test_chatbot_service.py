"""Every reply kind, end to end through :func:`chatbot.service.answer` over an in-memory backend."""
from __future__ import annotations

import datetime as dt

import pytest
from test_chatbot_fakes import BPK, BTS, NEW_ID, RELATED, SHN, SOLO, FakeBackend, skill_payload

from chatbot import service
from chatbot.budget import Deadline
from chatbot.service import answer
from sori.kakao import SkillRequest, validate_response


@pytest.fixture(autouse=True)
def _fresh_refresh_memo():
    service._last_refresh.clear()
    yield
    service._last_refresh.clear()


def ask(backend, utterance, *, lang="ko", extra=None, seconds=3.0, now=None):
    req = SkillRequest.parse(skill_payload(utterance, lang=lang, extra=extra))
    out = answer(req, backend, Deadline(seconds), now=now)
    assert validate_response(out.response) == [], out.response
    return out


def texts(resp) -> str:
    """Every human-visible string of a response, joined (for content assertions)."""
    out = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in ("text", "title", "description", "label") and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(resp)
    return "\n".join(out)


def test_related_reply_is_a_carousel_of_list_cards_with_reasons_and_more_as_quick_replies():
    b = FakeBackend()
    out = ask(b, "BLACKPINK 같은 가수 추천해줘")
    assert (out.kind, out.artist_id, out.how) == ("related", BPK, "exact")
    outputs = out.response["template"]["outputs"]
    assert "simpleText" in outputs[0]
    carousel = outputs[1]["carousel"]
    assert carousel["type"] == "listCard" and len(carousel["items"]) == 5  # the artist + 4 related
    headers = [c["header"]["title"] for c in carousel["items"]]
    assert headers == ["BLACKPINK", "TWICE", "Red Velvet", "ITZY", "Mamamoo"]
    twice = carousel["items"][1]
    assert twice["items"][0]["description"].startswith("함께 등장: Top 50 - Korea")
    assert [i["title"] for i in twice["items"][1:]] == ["TWICE song 1", "TWICE song 2", "TWICE song 3"]
    assert twice["items"][1]["link"]["web"].startswith("https://open.spotify.com/track/")
    assert twice["buttons"][0]["webLinkUrl"] == "https://open.spotify.com/artist/twc0000000000000000004"
    assert twice["buttons"][1]["extra"] == {"artist_id": "twc0000000000000000004"}
    qrs = out.response["template"]["quickReplies"]
    more = [q for q in qrs if q.get("extra")]
    assert [q["extra"]["artist_id"] for q in more] == RELATED[BPK][4:]
    assert more[0]["messageText"] == "BTS 같은 가수"
    assert not b.inserted and not b.learned and not b.refreshes  # reading only


def test_english_when_the_request_says_so():
    out = ask(FakeBackend(), "artists like BLACKPINK", lang="en")
    assert out.kind == "related"
    assert "If you like BLACKPINK" in texts(out.response)
    assert "Seen together" in texts(out.response)


def test_known_without_related_gives_top_tracks_and_when():
    b = FakeBackend(related={})
    out = ask(b, "BTS", now=dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC))  # 21:00 KST
    assert out.kind == "pending" and out.artist_id == BTS
    t = texts(out.response)
    assert "BTS 인기곡" in t and "내일 오전 5시" in t
    card = out.response["template"]["outputs"][1]["listCard"]
    assert [i["title"] for i in card["items"]][1:] == ["BTS song 1", "BTS song 2", "BTS song 3", "BTS song 4"]
    assert not b.refreshes  # it has data; the nightly run keeps it fresh


def test_known_never_refreshed_without_tracks_asks_for_a_refresh():
    b = FakeBackend(related={})
    out = ask(b, "Solo Newcomer", now=dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC))  # 03:00 KST
    assert out.kind == "pending" and "오늘 오전 5시" in texts(out.response)
    assert b.refreshes == [[SOLO]]
    ask(b, "Solo Newcomer")
    assert b.refreshes == [[SOLO]]  # at most once per container per REFRESH_EVERY_S


def test_new_artist_found_by_search_is_inserted_refreshed_and_shown_with_top_tracks():
    b = FakeBackend()
    out = ask(b, "NewJeans 같은 가수 추천해줘")
    assert (out.kind, out.artist_id) == ("new", NEW_ID)
    assert [r["id"] for r in b.inserted] == [NEW_ID] and b.inserted[0]["source"] == "chatbot"
    assert b.refreshes == [[NEW_ID]]
    t = texts(out.response)
    assert "새로 찾은 가수예요: NewJeans" in t
    assert {"Hype Boy", "Ditto", "Attention"} <= set(t.splitlines())
    # the next question about it is answered from the catalog without another insert
    again = ask(b, "NewJeans")
    assert again.kind == "pending" and len(b.inserted) == 1


def test_song_title_finds_its_artist():
    b = FakeBackend()
    out = ask(b, "Dynamite")
    assert (out.kind, out.artist_id, out.how) == ("related", BTS, "track")
    assert not b.inserted


def test_did_you_mean_offers_candidates_and_a_tap_confirms_the_alias():
    b = FakeBackend()
    out = ask(b, "샤이나")  # a typo close to the alias 샤이니, not close enough to assume
    assert out.kind == "did_you_mean"
    qr = next(q for q in out.response["template"]["quickReplies"] if q.get("extra", {}).get("artist_id") == SHN)
    assert qr["extra"]["alias"] == "샤이나"
    # the user taps it: Kakao sends the quick reply's messageText and extra back
    tapped = ask(b, qr["messageText"], extra=qr["extra"])
    assert tapped.kind == "related" and tapped.artist_id == SHN
    assert b.learned == [("샤이나", SHN, "chatbot")]
    # learned: now resolved directly
    assert ask(b, "샤이나").artist_id == SHN


def test_search_confirmed_hangul_alias_is_learned():
    b = FakeBackend()
    # 뉴진스 is unknown locally; Spotify finds NewJeans, whose name sounds the same
    b_search = b.search

    def search(query, types, timeout):
        out = b_search("NewJeans" if query == "뉴진스" else query, types, timeout)
        return out
    b.search = search  # type: ignore[method-assign]
    out = ask(b, "뉴진스")
    assert (out.kind, out.artist_id) == ("new", NEW_ID)
    assert ("뉴진스", NEW_ID, "search") in b.learned


def test_not_found_says_so_with_examples():
    # an unknown name is looked up now (issue 14 item 8: "not_known"); "not found" is what is left when the
    # lookup cannot be queued, or the text is no name (code, injections)
    b = FakeBackend(fail=["request_lookup"])
    out = ask(b, "qwzx vbnm")
    assert out.kind == "not_found"
    labels = [q["label"] for q in out.response["template"]["quickReplies"]]
    assert "BTS" in labels and "BLACKPINK" in labels
    assert not b.inserted and not b.learned
    for junk in ("'; DROP TABLE artists; --", "<script>alert(1)</script>"):
        b = FakeBackend()
        assert ask(b, junk).kind == "not_found" and b.lookups == []


def test_help_and_greeting():
    b = FakeBackend()
    assert ask(b, "도움말").kind == "help"
    assert ask(b, "").kind == "help"
    g = ask(b, "안녕하세요")
    assert g.kind == "greeting" and "좋아하는 가수" in texts(g.response)
    assert ask(b, "hello", lang="en").response["template"]["outputs"][0]["simpleText"]["text"].startswith("Hello")


def test_deadline_overrun_answers_gracefully():
    b = FakeBackend(delay=0.3)
    out = ask(b, "BLACKPINK", seconds=0.2)
    assert out.kind == "timeout"
    qrs = out.response["template"]["quickReplies"]
    assert qrs[0]["messageText"] == "BLACKPINK"  # one tap asks again


def test_search_rate_limited_degrades():
    b = FakeBackend(search_unavailable=True)
    assert ask(b, "NewJeans").kind == "busy"
    out = ask(b, "샤이나")  # local candidates still help
    assert out.kind == "did_you_mean"


def test_store_failure_answers_with_an_apology():
    out = ask(FakeBackend(fail=["artist"]), "BLACKPINK")
    assert out.kind == "error"
    assert "문제가 생겼어요" in texts(out.response)


def test_related_artist_without_tracks_still_gets_a_card():
    b = FakeBackend(related={BTS: [SOLO, SHN]})
    out = ask(b, "BTS")
    cards = out.response["template"]["outputs"][1]["carousel"]["items"]
    solo = cards[1]
    assert solo["header"]["title"] == "Solo Newcomer" and len(solo["items"]) == 1


def test_quick_reply_extra_with_unknown_id_falls_back_to_the_text():
    b = FakeBackend()
    out = ask(b, "BLACKPINK", extra={"artist_id": "nobody000000000000000"})
    assert out.artist_id == BPK
    out = ask(b, "BLACKPINK", extra={"artist_id": "'; DROP TABLE artists; --"})
    assert out.artist_id == BPK and not b.learned


# -- issue 14 item 8 ------------------------------------------------------------------------------------------------

def _spotify(b, artists):
    """Make the fake Spotify answer every search with ``artists`` (id, name) pairs."""
    def search(query, types, timeout):
        b._call("search", query, types)
        return {"artists": [{"id": i, "name": n, "images": [], "genres": []} for i, n in artists], "tracks": []}
    b.search = search


def test_a_dotted_name_is_never_added_as_the_word_artist():
    # failed before: "M.U.S.E." normalised to "muse", matched Spotify's "Muse" and inserted it as the new artist
    b = FakeBackend()
    _spotify(b, [("muse00000000000000000001", "Muse")])
    out = ask(b, "M.U.S.E.")
    assert out.kind == "did_you_mean" and not b.inserted
    assert out.response["template"]["quickReplies"][0]["label"] == "Muse"
    b = FakeBackend()  # Spotify knows the dotted one too: that is the match
    _spotify(b, [("muse00000000000000000001", "Muse"), ("mdot0000000000000000002", "M.U.S.E.")])
    out = ask(b, "M.U.S.E. 같은 가수")
    assert (out.kind, out.artist_id) == ("new", "mdot0000000000000000002")
    assert [r["name"] for r in b.inserted] == ["M.U.S.E."]


@pytest.mark.parametrize("name", ["뉴진스", "잔나비", "뉴진스 같은 가수 추천해줘"])
def test_an_unknown_name_is_looked_up_and_the_user_told_when_to_ask_again(name):
    # failed before: "did you mean" buttons of unrelated names, no lookup, no word on when to ask again
    b = FakeBackend()
    _spotify(b, [])  # as the emulator: nothing for a Hangul name it does not know
    out = ask(b, name)
    assert out.kind == "not_known", out.notes
    core = name.split()[0]
    assert b.lookups == [[core]] and not b.inserted
    text = texts(out.response)
    assert core in text and f"{service.ASK_AGAIN_MINUTES}분" in text
    again = ask(b, name)  # asked again at once: the same answer, no second lookup
    assert again.kind == "not_known" and b.lookups == [[core]]


def test_not_known_in_english_and_when_the_lookup_cannot_be_queued():
    b = FakeBackend()
    _spotify(b, [])
    out = ask(b, "Zzyzx Qoph", lang="en")
    assert out.kind == "not_known" and "ask me again in about 10 minutes" in texts(out.response)
    b = FakeBackend(fail=["request_lookup"])
    _spotify(b, [])
    assert ask(b, "Qoph Zzyzx").kind == "not_found"  # no promise it cannot keep


def test_spotify_lookalikes_are_not_offered_but_its_own_bridge_for_hangul_is():
    b = FakeBackend()
    _spotify(b, [("nons0000000000000000001", "Nonsens"), ("nois0000000000000000002", "Noise Cans")])
    assert ask(b, "Zzyzx Band").kind == "not_known"  # Latin lookalikes Spotify returned are not offered
    b = FakeBackend()
    _spotify(b, [("bts9000000000000000001", "BTS"), ("nois0000000000000000002", "Noise Cans")])
    out = ask(b, "가나다라마")  # Spotify's top answer to Hangul is its own bridge (a Korean name it knows)
    assert out.kind == "did_you_mean"
    assert [q["label"] for q in out.response["template"]["quickReplies"]][:-1] == ["BTS"]


def test_ask_again_minutes_covers_the_index_reload():
    from chatbot.deps import INDEX_TTL_S

    assert service.ASK_AGAIN_MINUTES * 60 >= INDEX_TTL_S + 60
