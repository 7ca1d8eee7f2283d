"""Reply strings in Korean (default) and English; ``userRequest.lang`` picks one.

>>> pick_lang("en"), pick_lang("kr"), pick_lang(None), pick_lang("ja")
('en', 'ko', 'ko', 'ko')
>>> t("en", "not_found", query="zzz")[:25]
"I couldn't find an artist"

Stdlib only. Every template is formatted with ``str.format`` keywords; a missing key falls back to Korean.
"""
from __future__ import annotations

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"

# Kakao sends "ko" today and "kr" in older payloads.
_ALIASES = {"ko": "ko", "kr": "ko", "ko-kr": "ko", "ko_kr": "ko", "en": "en", "en-us": "en", "en_us": "en",
            "en-gb": "en"}

STRINGS: dict[str, dict[str, str]] = {
    "ko": {
        "help": ("안녕하세요, 소리예요 🎧\n좋아하는 가수를 알려주시면 비슷한 가수를 찾아드려요.\n"
                 "예) BLACKPINK · 샤이니 같은 가수 추천해줘 · Dynamite"),
        "greeting": "안녕하세요! 좋아하는 가수 이름을 보내 주세요. 비슷한 가수와 인기곡을 알려드릴게요.",
        "related_intro": "{name} 좋아하시면 이 가수들도 들어보세요.",
        "related_more": "더 비슷한 가수는 아래 버튼을 눌러 보세요.",
        "no_related": "{name} 인기곡이에요. 비슷한 가수 추천은 {when} 준비돼요.",
        "no_related_no_tracks": "찾았어요: {name}. 곡 정보와 비슷한 가수 추천은 {when} 준비돼요.",
        "new_artist": "새로 찾은 가수예요: {name}. 데이터를 모으는 중이라 비슷한 가수 추천은 {when} 준비돼요.",
        "new_artist_tracks": "{name} 인기곡부터 들어보세요.",
        "did_you_mean": "혹시 이 가수를 찾으셨나요? '{query}'",
        "not_found": "'{query}'에 맞는 가수를 찾지 못했어요. 가수 이름이나 노래 제목으로 다시 물어봐 주세요.",
        "not_known": ("아직 모르는 가수예요: '{query}'. 지금 찾아보고 있으니 {minutes}분쯤 뒤에 다시 물어봐 주세요. "
                      "이름이 맞는지도 한번 확인해 주세요."),
        "timeout": "답을 찾는 데 시간이 너무 오래 걸렸어요. 잠시 후 다시 물어봐 주세요.",
        "busy": "지금은 검색이 붐벼요. 잠시 후 다시 물어봐 주세요.",
        "error": "죄송해요, 잠시 문제가 생겼어요. 잠시 후 다시 시도해 주세요.",
        "when_today": "오늘 오전 5시(한국 시간)에",
        "when_tomorrow": "내일 오전 5시(한국 시간)에",
        "listen": "Spotify에서 듣기",  # a button label: ≤ 14 (Kakao's Button.label limit)
        "similar_button": "비슷한 가수",
        "similar_message": "{name} 같은 가수",
        "retry": "다시 물어보기",
        "help_label": "도움말",
        "top_tracks_header": "{name} 인기곡",
        "artist_item": "Spotify 아티스트 페이지",
        "reason_shared": "함께 등장: {items}",
        "reason_features": "비슷한 점: {items}",
        "reason_score": "유사도 {score}%",
        "reason_shared_none": "{n}곳에 함께 등장",
        "reason_shared_none_one": "같은 목록에 함께 등장",
        "reason_features_none": "비슷한 사운드",
        "and_more": "{first} 외 {n}곳",
        "sep": " · ",
        "feature.danceability": "댄스",
        "feature.energy": "에너지",
        "feature.valence": "밝은 분위기",
        "feature.acousticness": "어쿠스틱",
        "feature.instrumentalness": "연주곡",
        "feature.speechiness": "랩/말",
        "feature.liveness": "라이브",
        "feature.tempo": "템포",
        "feature.loudness": "음량",
        "feature.genre": "장르",
        "feature.duration_ms": "곡 길이",
        "feature.key": "조성",
        "feature.mode": "장조·단조",
        "feature.time_signature": "박자",
    },
    "en": {
        "help": ("Hi, I'm sori 🎧\nTell me an artist you like and I'll find artists who sound similar.\n"
                 "e.g. BLACKPINK · artists like SHINee · Dynamite"),
        "greeting": "Hello! Send me the name of an artist you like and I'll suggest similar artists and songs.",
        "related_intro": "If you like {name}, try these artists.",
        "related_more": "Tap below for more similar artists.",
        "no_related": "Top tracks by {name}. Similar-artist picks will be ready {when}.",
        "no_related_no_tracks": "Found {name}. Songs and similar-artist picks will be ready {when}.",
        "new_artist": "New to me: {name}. I'm collecting data; similar-artist picks will be ready {when}.",
        "new_artist_tracks": "Meanwhile, here are {name}'s top tracks.",
        "did_you_mean": "Did you mean one of these? '{query}'",
        "not_found": "I couldn't find an artist for '{query}'. Try an artist name or a song title.",
        "not_known": ("I don't know '{query}' yet. I'm looking it up now: ask me again in about {minutes} minutes. "
                      "It may help to check the spelling."),
        "timeout": "That took too long to look up. Please ask again in a moment.",
        "busy": "Search is busy right now. Please ask again in a moment.",
        "error": "Sorry, something went wrong. Please try again in a moment.",
        "when_today": "today at 5 AM (Korea time)",
        "when_tomorrow": "tomorrow at 5 AM (Korea time)",
        "listen": "Open Spotify",  # ≤ 14: "Play on Spotify" (15) came out as "Play on Spoti…"
        "similar_button": "Similar",
        "similar_message": "artists like {name}",
        "retry": "Ask again",
        "help_label": "Help",
        "top_tracks_header": "{name} top tracks",
        "artist_item": "Spotify artist page",
        "reason_shared": "Seen together: {items}",
        "reason_features": "Similar: {items}",
        "reason_score": "similarity {score}%",
        "reason_shared_none": "Together in {n} lists",
        "reason_shared_none_one": "In a list together",
        "reason_features_none": "Similar sound",
        "and_more": "{first} +{n} more",
        "sep": " · ",
        "feature.danceability": "danceability",
        "feature.energy": "energy",
        "feature.valence": "mood",
        "feature.acousticness": "acoustic",
        "feature.instrumentalness": "instrumental",
        "feature.speechiness": "rap/spoken",
        "feature.liveness": "live feel",
        "feature.tempo": "tempo",
        "feature.loudness": "loudness",
        "feature.genre": "genre",
        "feature.duration_ms": "track length",
        "feature.key": "key",
        "feature.mode": "major/minor",
        "feature.time_signature": "time signature",
    },
}


def pick_lang(lang: str | None) -> str:
    """``userRequest.lang`` → one of :data:`LANGS` (Korean unless the request asks for English)."""
    if not isinstance(lang, str):
        return DEFAULT_LANG
    return _ALIASES.get(lang.strip().lower(), DEFAULT_LANG)


def t(lang: str, key: str, **kw: object) -> str:
    """The ``key`` string in ``lang`` (Korean fallback), formatted with ``kw``."""
    table = STRINGS.get(lang) or STRINGS[DEFAULT_LANG]
    template = table.get(key)
    if template is None:
        template = STRINGS[DEFAULT_LANG][key]
    return template.format(**kw) if kw else template
