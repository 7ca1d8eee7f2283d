"""Why two artists are related, told truthfully: the stored reason (``related_artists.reason``, ``v`` 2) and
its one-line Korean / English rendering.

The builder keeps a part only when it carried the pair's score: its contribution ``weight × signal`` is the
largest or at least :data:`TELLING` of the positive total. A chart co-appearance is therefore shown only where
the chart fingerprint actually drove the match; a collaboration (a track both are credited on) is always a
fact worth telling. Artists with no shared playlist, chart or session are matched by sound, and say so.

>>> render({"v": 2, "mode": "blend", "parts": ["playlist", "audio"], "playlists": 12,
...         "features": ["energy", "tempo"]}, "ko")
'같은 플레이리스트 12개에 함께 · 비슷한 사운드: 에너지, 템포'
>>> render({"v": 2, "mode": "blend", "parts": ["collab"], "collab": ["Señorita"]}, "en")
'Sang together: Señorita'
>>> render({"v": 2, "mode": "sound", "parts": ["audio"], "features": ["valence", "duration_ms"]}, "en")
'Matched by sound: mood, track length'
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: A part is told when its share of the positive score is at least this (or it is the largest part).
TELLING = 0.25
MAX_NAMES = 2

FEATURE_NAMES = {
    "ko": {"danceability": "댄스감", "energy": "에너지", "loudness": "음압", "speechiness": "랩·내레이션 비중",
           "acousticness": "어쿠스틱", "instrumentalness": "연주곡 비중", "valence": "분위기", "tempo": "템포",
           "duration_ms": "곡 길이", "liveness": "라이브감"},
    "en": {"danceability": "dance feel", "energy": "energy", "loudness": "loudness",
           "speechiness": "spoken words", "acousticness": "acoustic sound", "instrumentalness": "instrumentals",
           "valence": "mood", "tempo": "tempo", "duration_ms": "track length", "liveness": "live feel"},
}

TEXT = {
    "ko": {"playlist": "같은 플레이리스트 {n}개에 함께", "collab": "함께 부른 곡: {items}",
           "session": "같은 감상 세션 {n}번에 함께", "chart": "같은 차트에 함께: {items}",
           "audio": "비슷한 사운드: {items}", "sound": "사운드로 찾은 추천: {items}", "genre": "같은 장르: {items}",
           "more": "{items} 외 {n}곳", "sep": " · "},
    "en": {"playlist": "In {n} playlists together", "collab": "Sang together: {items}",
           "session": "Played together in {n} listening sessions", "chart": "Charted together: {items}",
           "audio": "Similar sound: {items}", "sound": "Matched by sound: {items}", "genre": "Same genre: {items}",
           "more": "{items} and {n} more", "sep": " · "},
}
TEXT["ko"]["playlist_one"] = "같은 플레이리스트에 함께"
TEXT["en"]["playlist_one"] = "In a playlist together"
TEXT["ko"]["session_one"] = "같은 감상 세션에 함께"
TEXT["en"]["session_one"] = "Played together in a listening session"


def telling_parts(contrib: Mapping[str, float]) -> list[str]:
    """The parts worth telling, largest contribution first (see :data:`TELLING`)."""
    pos = {k: v for k, v in contrib.items() if v > 0}
    total = sum(pos.values())
    if total <= 0:
        return []
    order = sorted(pos, key=lambda k: -pos[k])
    return [k for i, k in enumerate(order) if i == 0 or pos[k] / total >= TELLING]


def _names(lang: str, items: list[str], total: int | None = None) -> str:
    head = ", ".join(str(x) for x in items[:MAX_NAMES])
    extra = (total if total is not None else len(items)) - min(len(items), MAX_NAMES)
    return TEXT[lang]["more"].format(items=head, n=extra) if extra > 0 else head


def render(reason: Mapping[str, Any] | None, lang: str = "ko") -> str:
    """One line for a ``v`` 2 reason; ``""`` when there is nothing true to say."""
    if not isinstance(reason, Mapping):
        return ""
    lang = lang if lang in TEXT else "ko"
    tx = TEXT[lang]
    out = []
    for part in reason.get("parts") or []:
        if part in ("playlist", "session"):
            n = int(reason.get(part + "s") or 0)
            if n:
                out.append(tx[part + "_one"] if n == 1 else tx[part].format(n=n))
        elif part == "collab" and reason.get("collab"):
            out.append(tx["collab"].format(items=_names(lang, list(reason["collab"]))))
        elif part == "chart" and reason.get("charts"):
            out.append(tx["chart"].format(items=_names(lang, list(reason["charts"]))))
        elif part == "genre" and reason.get("genres"):
            out.append(tx["genre"].format(items=_names(lang, list(reason["genres"]))))
        elif part == "audio" and reason.get("features"):
            found = [FEATURE_NAMES[lang].get(f) for f in reason["features"]]
            names = [x for x in found if x]
            if names:
                key = "sound" if reason.get("mode") == "sound" else "audio"
                out.append(tx[key].format(items=", ".join(names[:2])))
    return tx["sep"].join(dict.fromkeys(out))
