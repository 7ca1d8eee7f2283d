"""Reasons that tell the truth: what carried the score, in Korean and English, no raw field names."""
from __future__ import annotations

import re

from chatbot.replies import reason_text
from sori.related.reasons import FEATURE_NAMES, render, telling_parts


def test_playlists_collabs_and_sound_in_both_languages():
    r = {"v": 2, "mode": "blend", "parts": ["playlist", "collab", "audio"], "playlists": 12,
         "collab": ["Señorita", "I Know What You Did Last Summer", "x"], "features": ["energy", "tempo"]}
    assert render(r, "ko") == ("같은 플레이리스트 12개에 함께 · 함께 부른 곡: Señorita, I Know What You Did Last Summer 외 1곡"
                               " · 비슷한 사운드: 에너지, 템포")
    assert render(r, "en").startswith("In 12 playlists together · Sang together: Señorita")
    assert render(r, "en").endswith("Similar sound: energy, tempo")


def test_sound_mode_says_so():
    r = {"v": 2, "mode": "sound", "parts": ["audio"], "features": ["acousticness", "duration_ms"]}
    assert render(r, "ko") == "사운드로 찾은 추천: 어쿠스틱, 곡 길이"
    assert render(r, "en") == "Matched by sound: acoustic sound, track length"


def test_no_raw_field_names_anywhere():
    for lang in ("ko", "en"):
        for f in FEATURE_NAMES[lang]:
            text = render({"v": 2, "mode": "blend", "parts": ["audio"], "features": [f, "tempo"]}, lang)
            assert not re.search(r"_|danceability|speechiness|acousticness|instrumentalness|liveness|valence",
                                 text), text


def test_chart_only_when_it_carried_the_score():
    assert telling_parts({"playlist": 0.6, "chart": 0.1, "audio": 0.3}) == ["playlist", "audio"]
    assert telling_parts({"playlist": 0.1, "chart": 0.7, "audio": 0.2}) == ["chart"]
    r = {"v": 2, "mode": "blend", "parts": ["playlist"], "playlists": 3, "charts": ["South Korea"]}
    assert "차트" not in render(r, "ko")


def test_chatbot_renders_v2_reasons_through_the_related_package():
    r = {"v": 2, "mode": "blend", "parts": ["playlist"], "playlists": 1}
    assert reason_text("ko", r, 0.9) == "같은 플레이리스트에 함께"
    assert reason_text("en", r) == "In a playlist together"
