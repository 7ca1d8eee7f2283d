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

from sori.kakao.text import compose_line, display_width, fit_words

#: A part is told when its share of the positive score is at least this (or it is the largest part).
TELLING = 0.25
MAX_NAMES = 2

FEATURE_NAMES = {
    "ko": {"danceability": "댄스감", "energy": "에너지", "loudness": "음압", "speechiness": "랩·내레이션 비중",
           "acousticness": "어쿠스틱", "instrumentalness": "연주곡 비중", "valence": "분위기", "tempo": "템포",
           "duration_ms": "곡 길이", "liveness": "라이브감", "key": "조성", "mode": "장조·단조",
           "time_signature": "박자"},
    "en": {"danceability": "dance feel", "energy": "energy", "loudness": "loudness",
           "speechiness": "spoken words", "acousticness": "acoustic sound", "instrumentalness": "instrumentals",
           "valence": "mood", "tempo": "tempo", "duration_ms": "track length", "liveness": "live feel",
           "key": "key", "mode": "major/minor", "time_signature": "time signature"},
}

#: Every reason phrase as (Korean, English), side by side so a translation is checked where it is written.
_PHRASES: dict[str, tuple[str, str]] = {
    "playlist": ("같은 플레이리스트 {n}개에 함께", "In {n} playlists together"),
    "playlist_one": ("같은 플레이리스트에 함께", "In a playlist together"),
    "collab": ("함께 부른 곡: {items}", "Sang together: {items}"),
    "session": ("같은 감상 세션 {n}번에 함께", "Played together in {n} listening sessions"),
    "session_one": ("같은 감상 세션에 함께", "Played together in a listening session"),
    "chart": ("같은 차트에 함께: {items}", "Charted together: {items}"),
    "audio": ("비슷한 사운드: {items}", "Similar sound: {items}"),
    "sound": ("사운드로 찾은 추천: {items}", "Matched by sound: {items}"),
    "genre": ("같은 장르: {items}", "Same genre: {items}"),
    "more": ("{items} 외 {n}곳", "{items} and {n} more"),
    "more_songs": ("{items} 외 {n}곡", "{items} and {n} more"),
    "sep": (" · ", " · "),
    # short forms, for a line that must fit one list row
    "playlist_short": ("플레이리스트 {n}개에 함께", "In {n} playlists"),
    "session_short": ("감상 세션 {n}번에 함께", "Played together {n} times"),
    "session_one_short": ("감상 세션에 함께", "Played together"),
    "collab_none": ("함께 부른 곡이 있어요", "Sang together"),
    "chart_none": ("같은 차트에 함께", "Charted together"),
    "audio_none": ("비슷한 사운드", "Similar sound"),
    "sound_none": ("사운드로 찾은 추천", "Matched by sound"),
    "genre_none": ("같은 장르", "Same genre"),
}
TEXT = {lang: {k: pair[i] for k, pair in _PHRASES.items()} for i, lang in enumerate(("ko", "en"))}


def telling_parts(contrib: Mapping[str, float]) -> list[str]:
    """The parts worth telling, largest contribution first (see :data:`TELLING`)."""
    pos = {k: v for k, v in contrib.items() if v > 0}
    total = sum(pos.values())
    if total <= 0:
        return []
    order = sorted(pos, key=lambda k: -pos[k])
    return [k for i, k in enumerate(order) if i == 0 or pos[k] / total >= TELLING]


def _names(lang: str, items: list[str], total: int | None = None, *, more: str = "more",
           first: int = MAX_NAMES) -> str:
    head = ", ".join(str(x) for x in items[:first])
    extra = (total if total is not None else len(items)) - min(len(items), first)
    return TEXT[lang][more].format(items=head, n=extra) if extra > 0 else head


def _named(lang: str, key: str, items: list[str], width: int | None, more: str = "more") -> list[str]:
    """A part that names things (songs, charts, genres): every name that fits, then fewer, then the first name
    shortened at a word boundary, then the form without names (for a one-line budget of ``width``)."""
    tx = TEXT[lang]
    alts = [tx[key].format(items=_names(lang, items, more=more))]
    if width is not None:
        alts.append(tx[key].format(items=_names(lang, items, more=more, first=1)))
        prefix = tx[key].format(items="")
        short = fit_words(str(items[0]), width - display_width(prefix), min_words=2) if items else None
        if short:
            alts.append(prefix + short)
        alts.append(tx[key + "_none"])
    return alts


def _alternatives(reason: Mapping[str, Any], lang: str, width: int | None) -> list[list[str]]:
    """For each part the reason tells, its forms (longest first)."""
    tx = TEXT[lang]
    parts: list[list[str]] = []
    for part in reason.get("parts") or []:
        if part in ("playlist", "session"):
            n = int(reason.get(part + "s") or 0)
            if n == 1:
                parts.append([tx[part + "_one"], tx.get(part + "_one_short", tx[part + "_one"])])
            elif n:
                parts.append([tx[part].format(n=n), tx[part + "_short"].format(n=n)])
        elif part == "collab" and reason.get("collab"):
            parts.append(_named(lang, "collab", list(reason["collab"]), width, more="more_songs"))
        elif part == "chart" and reason.get("charts"):
            parts.append(_named(lang, "chart", list(reason["charts"]), width))
        elif part == "genre" and reason.get("genres"):
            parts.append(_named(lang, "genre", list(reason["genres"]), width))
        elif part == "audio" and reason.get("features"):
            found = [FEATURE_NAMES[lang].get(f) for f in reason["features"]]
            names = [x for x in found if x]  # a feature without a readable name is never shown raw
            if names:
                key = "sound" if reason.get("mode") == "sound" else "audio"
                parts.append([tx[key].format(items=", ".join(names[:2])), tx[key].format(items=names[0]),
                              tx[key + "_none"]])
    return parts


def render(reason: Mapping[str, Any] | None, lang: str = "ko", width: int | None = None) -> str:
    """One line for a ``v`` 2 reason; ``""`` when there is nothing true to say.

    ``width``: a budget in display columns (:func:`sori.kakao.text.display_width`): the parts are composed to fit
    it — fewer names, shorter forms, the less telling parts left out — never cut mid-word.

    >>> r = {"v": 2, "mode": "blend", "parts": ["playlist", "audio"], "playlists": 12, "features": ["energy"]}
    >>> render(r, "en", width=32)
    'In 12 playlists together'
    """
    if not isinstance(reason, Mapping):
        return ""
    lang = lang if lang in TEXT else "ko"
    sep = TEXT[lang]["sep"]
    parts = _alternatives(reason, lang, width)
    if width is None:
        return sep.join(dict.fromkeys(alts[0] for alts in parts))
    return compose_line(parts, width, sep)
