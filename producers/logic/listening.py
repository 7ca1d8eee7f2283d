"""Listening history: recently played (every 2 h, ``after`` cursor) and followed artists (daily, cursor pages).

Recently played: pages are read forward from the stored cursor (``after`` = the newest ``played_at`` already sent,
in ms) until Spotify has nothing newer; the handler stores the new cursor only after the records were put, so a
failed run is re-read (same ``play`` ids: ``play:<user>:<played_at>``) and a successful one is never re-read.
Plays also form listening sessions (a gap over 30 min starts a new one) → ``collection_member`` kind ``session``,
the co-occurrence signal; the open session is carried in the cursor state so one spanning two runs stays one.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from producers.logic.records import collection_records
from sori.records import make_record
from sori.spotify.client import SpotifyClient

SESSION_GAP_MS = 30 * 60 * 1000
PAGE = 50


def played_ms(played_at: str) -> int:
    """``2026-11-22T10:00:00.123Z`` → epoch milliseconds.

    >>> played_ms("1970-01-01T00:00:01.500Z")
    1500
    """
    d = _dt.datetime.fromisoformat(played_at.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.UTC)
    return round(d.timestamp() * 1000)


@dataclass
class Plays:
    items: list[dict[str, Any]]  # oldest first, each newer than the cursor
    after: int | None  # the new cursor (ms), or the old one when nothing new
    calls: int = 0


class UserApi(Protocol):
    """What reading recently-played needs of a user's client (:class:`sori.spotify.client.SpotifyClient`)."""

    sp: Any

    def call(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...


def fetch_recently_played(api: UserApi, after: int | None, *, max_pages: int = 20) -> Plays:
    """Every play newer than ``after`` (ms), oldest first, de-duplicated by ``played_at``."""
    seen: dict[int, dict[str, Any]] = {}
    cursor = int(after or 0)
    pages = 0
    while pages < max_pages:
        page = api.call("recently-played", api.sp.current_user_recently_played, limit=PAGE, after=cursor)
        pages += 1
        items = [it for it in (page or {}).get("items") or [] if it and it.get("track") and it.get("played_at")]
        new = 0
        for it in items:
            ms = played_ms(it["played_at"])
            if ms > int(after or 0) and ms not in seen:
                seen[ms] = it
                new += 1
        newest = max((played_ms(it["played_at"]) for it in items), default=cursor)
        if not items or not (page or {}).get("next") or newest <= cursor or not new:
            break
        cursor = newest
    ordered = [seen[k] for k in sorted(seen)]
    return Plays(ordered, max(seen) if seen else after, pages)


@dataclass
class Session:
    """The open listening session carried between runs."""

    id: str | None = None
    last_ms: int = 0


def play_records(items: Sequence[Mapping[str, Any]], user_id: str, *, emitted_at: str,
                 session: Session | None = None) -> tuple[list[dict[str, Any]], Session]:
    """``play`` records plus ``collection_member`` (kind ``session``) records; returns the open session after."""
    session = Session(session.id, session.last_ms) if session else Session()
    plays, members = [], []
    by_session: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        t = it["track"]
        ms = played_ms(it["played_at"])
        if session.id is None or ms - session.last_ms > SESSION_GAP_MS:
            session.id = f"{user_id}:{ms}"
        session.last_ms = ms
        by_session.setdefault(session.id, []).append(t)
        artists = [a for a in t.get("artists") or [] if a and a.get("id")]
        plays.append(make_record("play", {
            "user_id": user_id, "played_at": it["played_at"], "track_id": t["id"], "track_name": t.get("name"),
            "artist_ids": [a["id"] for a in artists] or None,
            "artist_names": [a.get("name") for a in artists if a.get("name")] or None,
            "context_uri": (it.get("context") or {}).get("uri"), "duration_ms": t.get("duration_ms"),
        }, source="spotify", emitted_at=emitted_at))
    for sid, tracks in by_session.items():
        members.extend(collection_records("session", sid, None, tracks, emitted_at=emitted_at))
    return plays + members, session


@dataclass
class Followed:
    artists: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0


def fetch_followed(api: SpotifyClient, *, max_pages: int = 200) -> Followed:
    """Every followed artist, following ``cursors.after`` page by page."""
    out = Followed()
    after = None
    seen = set()
    while out.calls < max_pages:
        resp = api.call("following", api.sp.current_user_followed_artists, limit=50, after=after)
        out.calls += 1
        page = (resp or {}).get("artists") or {}
        for a in page.get("items") or []:
            if a and a.get("id") and a["id"] not in seen:
                seen.add(a["id"])
                out.artists.append(a)
        after = (page.get("cursors") or {}).get("after")
        if not after or not page.get("next"):
            break
    return out


def followed_records(artists: Sequence[Mapping[str, Any]], user_id: str, *, emitted_at: str) -> list[dict[str, Any]]:
    return [make_record("followed_artist", {"user_id": user_id, "artist_id": a["id"], "name": a.get("name"),
                                            "genres": list(a.get("genres") or []) or None},
                        source="spotify", emitted_at=emitted_at) for a in artists]
