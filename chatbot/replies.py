"""Reply building: plain data in, a Kakao 2.0 response dict out (pure; no I/O).

Every builder goes through :class:`sori.kakao.SkillResponse`, which fits text, labels and list lengths to
Kakao's limits; the app still runs :func:`sori.kakao.validate_response` on what leaves the function.

Inputs are the dicts the stores return: an *artist* ``{id, name, image_url?, genres?}``; a *track* (DynamoDB
``top_tracks`` item or Spotify search result, see :func:`track_view`) ``{name, album?, album_image?, url?}``; a
*related* row (``RelatedStore.current``) ``{related_id, rank, score, reason, name, image_url, genres}``.

>>> r = help_reply("ko", ["BTS"]); r["template"]["quickReplies"][0]["label"]
'BTS'
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from chatbot.i18n import t
from sori.kakao import (
    LIST_ITEM_LINE_WIDTH,
    MAX_QUICK_REPLIES,
    Button,
    Carousel,
    ListCard,
    ListItem,
    QuickReply,
    SimpleText,
    SkillResponse,
    compose_line,
    display_width,
    fit_words,
    is_http_url,
)

__all__ = [
    "CARDS_RELATED",
    "KST",
    "RELATED_READY_HOUR_KST",
    "TRACKS_PER_CARD",
    "artist_quick_reply",
    "artist_url",
    "busy_reply",
    "did_you_mean_reply",
    "error_reply",
    "greeting_reply",
    "help_reply",
    "not_found_reply",
    "not_known_reply",
    "pending_reply",
    "ready_when",
    "reason_text",
    "related_reply",
    "timeout_reply",
    "track_view",
]

KST = dt.timezone(dt.timedelta(hours=9))
RELATED_READY_HOUR_KST = 5  # related_builder: cron(0 20 * * ? *) = 05:00 KST, after the 03:00 refresh
CARDS_RELATED = 4  # the artist + 4 related = a carousel of 5 listCards (Kakao's maximum)
TRACKS_PER_CARD = 3  # + the artist row = 4 items, the maximum inside a carousel
TOP_TRACKS_SINGLE = 4  # + the artist row = 5 items in a single listCard
SPOTIFY_ARTIST = "https://open.spotify.com/artist/"
SPOTIFY_TRACK = "https://open.spotify.com/track/"
MAX_REASON_SHARED = 2


def artist_url(artist_id: str) -> str:
    """The artist's public Spotify page."""
    return SPOTIFY_ARTIST + quote(str(artist_id), safe="")


def track_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A track as replies use it, from a DynamoDB ``top_tracks`` item or a Spotify track object.

    >>> track_view({"id": "t1", "name": "Dynamite", "album": {"name": "BE", "images": [{"url": "https://i/1"}]},
    ...             "external_urls": {"spotify": "https://open.spotify.com/track/t1"}})["album_image"]
    'https://i/1'
    """
    album = item.get("album")
    image = item.get("album_image")
    if isinstance(album, Mapping):  # Spotify track object
        images = album.get("images") or []
        image = image or (images[0].get("url") if images and isinstance(images[0], Mapping) else None)
        album = album.get("name")
    url = item.get("url") or (item.get("external_urls") or {}).get("spotify")
    tid = item.get("track_id") or item.get("id")
    if not url and tid:
        url = SPOTIFY_TRACK + quote(str(tid), safe="")
    return {"track_id": tid, "name": str(item.get("name") or ""), "album": str(album) if album else None,
            "album_image": image if is_http_url(image) else None, "url": url if is_http_url(url) else None}


def ready_when(now: dt.datetime | None = None) -> str:
    """``when_today`` before 05:00 KST, else ``when_tomorrow``: when the next related-artist build lands."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(KST)
    return "when_today" if now.hour < RELATED_READY_HOUR_KST else "when_tomorrow"


def reason_text(lang: str, reason: Any, score: Any = None, width: int | None = LIST_ITEM_LINE_WIDTH) -> str:
    """One short line on why two artists are related, from ``related_artists.reason`` (and the score), composed
    to fit one list row (``width`` display columns, :data:`sori.kakao.limits.LIST_ITEM_LINE_WIDTH`): fewer
    names, then shorter forms, then the less telling part left out; never cut mid-word. A feature without a
    readable name is left out, never shown raw (``duration_ms``). ``width=None``: everything, one line.

    >>> reason_text("ko", {"shared": ["Top 50 - Korea", "K-Pop Daebak", "x"], "features": ["energy"]}, width=None)
    '함께 등장: Top 50 - Korea, K-Pop Daebak 외 1곳 · 비슷한 점: 에너지'
    >>> reason_text("ko", {"shared": ["Top 50 - Korea", "K-Pop Daebak", "x"], "features": ["energy"]})
    '함께 등장: Top 50 - Korea 외 2곳'
    >>> reason_text("en", {"shared": [{"kind": "chart", "id": "regional-kr-weekly:2026-11-19",
    ...                                "name": "South Korea 2026-11-19"}]})
    'Seen together: South Korea…'
    >>> reason_text("en", {"features": ["duration_ms", "tempo"]}), reason_text("en", None, 0.42)
    ('Similar: track length, tempo', 'similarity 42%')
    """
    if isinstance(reason, Mapping) and reason.get("v") == 2:  # the blend's reasons tell their own truth
        from sori.related.reasons import render

        return render(reason, lang, width)
    parts: list[list[str]] = []
    if isinstance(reason, Mapping):
        raw_shared = reason.get("shared")
        shared = [_collection_name(x) for x in raw_shared if x] if isinstance(raw_shared, list) else []
        if shared:
            parts.append(_shared_forms(lang, shared, width))
        raw = reason.get("features")
        feats: list[Any] = raw if isinstance(raw, list) else []
        names = [t(lang, key) for key in (f"feature.{f}" for f in feats) if key in _known_features()][:3]
        if names:
            parts.append([t(lang, "reason_features", items=", ".join(names[:n])) for n in (3, 2, 1)
                          if n <= len(names)] + [t(lang, "reason_features_none")])
    if not parts and isinstance(score, (int, float)) and 0 <= score <= 1:
        parts.append([t(lang, "reason_score", score=round(score * 100))])
    sep = t(lang, "sep")
    if width is None:
        return sep.join(alts[0] for alts in parts)
    return compose_line(parts, width, sep)


def _shared_forms(lang: str, shared: list[str], width: int | None) -> list[str]:
    """"Seen together: A, B +n more", then fewer names, then one name shortened at a word boundary, then none."""
    def listed(k: int) -> str:
        head = ", ".join(shared[:k])
        items = t(lang, "and_more", first=head, n=len(shared) - k) if len(shared) > k else head
        return t(lang, "reason_shared", items=items)

    forms = [listed(MAX_REASON_SHARED)]
    if width is not None:
        forms.append(listed(1))
        prefix = t(lang, "reason_shared", items="")
        more = t(lang, "and_more", first="", n=len(shared) - 1) if len(shared) > 1 else ""
        short = fit_words(shared[0], width - display_width(prefix) - display_width(more), min_words=2)
        if short:
            forms.append(prefix + t(lang, "and_more", first=short, n=len(shared) - 1) if more else prefix + short)
        forms.append(t(lang, "reason_shared_none", n=len(shared)) if len(shared) > 1
                     else t(lang, "reason_shared_none_one"))
    return forms


def _collection_name(item: Any) -> str:
    """A shared collection as related_builder stores it (``{"kind", "id", "name"}``) or a bare name."""
    if isinstance(item, Mapping):
        return str(item.get("name") or item.get("id") or "?")
    return str(item)


def _known_features() -> frozenset[str]:
    from chatbot.i18n import STRINGS

    return frozenset(k for k in STRINGS["ko"] if k.startswith("feature."))


def artist_quick_reply(artist_id: str, name: str, *, alias: str | None = None, lang: str = "ko",
                       similar: bool = False) -> QuickReply:
    """A quick reply that asks about one artist; ``extra`` carries its id (and the alias being confirmed)."""
    extra: dict[str, Any] = {"artist_id": artist_id}
    if alias:
        extra["alias"] = alias
    text = t(lang, "similar_message", name=name) if similar else name
    return QuickReply(label=name, messageText=text, extra=extra)


def _example_quick_replies(examples: Iterable[Any], lang: str) -> list[QuickReply]:
    out = []
    for e in examples:
        if isinstance(e, tuple):
            out.append(artist_quick_reply(e[0], e[1], lang=lang))
        else:
            out.append(QuickReply(label=str(e), messageText=str(e)))
    return out


def _help_qr(lang: str) -> QuickReply:
    return QuickReply(label=t(lang, "help_label"), messageText=t(lang, "help_label"))


def help_reply(lang: str, examples: Sequence[Any] = ()) -> dict[str, Any]:
    """How to use the bot, with example artists as quick replies (names, or ``(id, name)`` pairs)."""
    return SkillResponse([SimpleText(t(lang, "help"))], _example_quick_replies(examples, lang)).to_dict()


def greeting_reply(lang: str, examples: Sequence[Any] = ()) -> dict[str, Any]:
    return SkillResponse([SimpleText(t(lang, "greeting"))],
                         [*_example_quick_replies(examples, lang), _help_qr(lang)]).to_dict()


def _artist_row(lang: str, artist: Mapping[str, Any], description: str | None) -> ListItem:
    return ListItem(title=str(artist.get("name") or artist.get("id")), description=description or None,
                    imageUrl=artist.get("image_url"), link=artist_url(str(artist.get("id"))))


def _track_rows(tracks: Iterable[Mapping[str, Any]], n: int) -> list[ListItem]:
    rows = []
    seen: set[str] = set()
    for tr in tracks:
        v = track_view(tr)
        key = v["name"].strip().casefold()
        if not key or key in seen:  # the same song on a single and an album shows once
            continue
        seen.add(key)
        rows.append(ListItem(title=v["name"], description=v["album"], imageUrl=v["album_image"], link=v["url"]))
        if len(rows) == n:
            break
    return rows


def _genres(artist: Mapping[str, Any]) -> str | None:
    g = artist.get("genres")
    if isinstance(g, list) and g:
        return ", ".join(str(x) for x in g[:3])
    return None


def _artist_card(lang: str, artist: Mapping[str, Any], tracks: Sequence[Mapping[str, Any]], *, description: str | None,
                 n_tracks: int, similar_button: bool) -> ListCard:
    items = [_artist_row(lang, artist, description), *_track_rows(tracks, n_tracks)]
    buttons = [Button(label=t(lang, "listen"), action="webLink", webLinkUrl=artist_url(str(artist.get("id"))))]
    if similar_button:
        name = str(artist.get("name") or "")
        buttons.append(Button(label=t(lang, "similar_button"), action="message",
                              messageText=t(lang, "similar_message", name=name),
                              extra={"artist_id": str(artist.get("id"))}))
    return ListCard(header=ListItem(title=str(artist.get("name") or artist.get("id"))), items=items, buttons=buttons)


def related_reply(lang: str, artist: Mapping[str, Any], tracks: Sequence[Mapping[str, Any]],
                  related: Sequence[Mapping[str, Any]], related_tracks: Mapping[str, Sequence[Mapping[str, Any]]],
                  ) -> dict[str, Any]:
    """A known artist with related artists: intro text + a carousel of listCards (the artist, then up to
    :data:`CARDS_RELATED` related ones, each with top tracks, a reason and links) + quick replies for the
    related artists that did not fit in the carousel."""
    cards = [_artist_card(lang, artist, tracks, description=_genres(artist), n_tracks=TRACKS_PER_CARD,
                          similar_button=False)]
    for r in related[:CARDS_RELATED]:
        rid = str(r.get("related_id"))
        view = {"id": rid, "name": r.get("name") or rid, "image_url": r.get("image_url"), "genres": r.get("genres")}
        cards.append(_artist_card(lang, view, related_tracks.get(rid, ()),
                                  description=reason_text(lang, r.get("reason"), r.get("score")) or _genres(view),
                                  n_tracks=TRACKS_PER_CARD, similar_button=True))
    more = [artist_quick_reply(str(r.get("related_id")), str(r.get("name") or r.get("related_id")), lang=lang,
                               similar=True)
            for r in related[CARDS_RELATED:CARDS_RELATED + MAX_QUICK_REPLIES - 1]]
    name = str(artist.get("name") or artist.get("id"))
    intro = t(lang, "related_intro", name=name)
    if more:
        intro += "\n" + t(lang, "related_more")
    return SkillResponse([SimpleText(intro), Carousel("listCard", cards)], [*more, _help_qr(lang)]).to_dict()


def pending_reply(lang: str, artist: Mapping[str, Any], tracks: Sequence[Mapping[str, Any]], *, new: bool,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """A known artist without related artists yet (``new=False``) or one just found by search (``new=True``):
    its top tracks when we have them, and when the recommendations will be ready."""
    name = str(artist.get("name") or artist.get("id"))
    when = t(lang, ready_when(now))
    rows = _track_rows(tracks, TOP_TRACKS_SINGLE)
    if new:
        text = t(lang, "new_artist", name=name, when=when)
        if rows:
            text += "\n" + t(lang, "new_artist_tracks", name=name)
    else:
        text = t(lang, "no_related" if rows else "no_related_no_tracks", name=name, when=when)
    outputs: list[Any] = [SimpleText(text)]
    card_items = [_artist_row(lang, artist, _genres(artist)), *rows]
    outputs.append(ListCard(header=ListItem(title=t(lang, "top_tracks_header", name=name) if rows else name),
                            items=card_items,
                            buttons=[Button(label=t(lang, "listen"), action="webLink",
                                            webLinkUrl=artist_url(str(artist.get("id"))))]))
    return SkillResponse(outputs, [_help_qr(lang)]).to_dict()


def did_you_mean_reply(lang: str, query: str, candidates: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """"Did you mean …?" with one quick reply per candidate ``{artist_id, name}``; the query rides along in
    ``extra.alias`` so a tap confirms it as a name for that artist."""
    qrs = [artist_quick_reply(str(c["artist_id"]), str(c["name"]), alias=query or None, lang=lang)
           for c in candidates[:MAX_QUICK_REPLIES - 1]]
    return SkillResponse([SimpleText(t(lang, "did_you_mean", query=query))], [*qrs, _help_qr(lang)]).to_dict()


def not_known_reply(lang: str, query: str, minutes: int, utterance: str = "") -> dict[str, Any]:
    """A name we do not know yet and nothing plausible matched: say so, that it is being looked up, and when to
    ask again (one tap asks the same again)."""
    qrs = [QuickReply(label=t(lang, "retry"), messageText=utterance)] if utterance.strip() else []
    return SkillResponse([SimpleText(t(lang, "not_known", query=query, minutes=minutes))],
                         [*qrs, _help_qr(lang)]).to_dict()


def not_found_reply(lang: str, query: str, examples: Sequence[Any] = ()) -> dict[str, Any]:
    return SkillResponse([SimpleText(t(lang, "not_found", query=query))],
                         [*_example_quick_replies(examples, lang), _help_qr(lang)]).to_dict()


def timeout_reply(lang: str, utterance: str = "") -> dict[str, Any]:
    """The deadline ran out: say so, and offer to ask again with one tap."""
    qrs = [QuickReply(label=t(lang, "retry"), messageText=utterance)] if utterance.strip() else []
    return SkillResponse([SimpleText(t(lang, "timeout"))], [*qrs, _help_qr(lang)]).to_dict()


def busy_reply(lang: str, utterance: str = "") -> dict[str, Any]:
    """Spotify is rate limiting us: degrade instead of retrying inside the request."""
    qrs = [QuickReply(label=t(lang, "retry"), messageText=utterance)] if utterance.strip() else []
    return SkillResponse([SimpleText(t(lang, "busy"))], [*qrs, _help_qr(lang)]).to_dict()


def error_reply(lang: str) -> dict[str, Any]:
    return SkillResponse([SimpleText(t(lang, "error"))], [_help_qr(lang)]).to_dict()
