"""What the chatbot answers: a :class:`~sori.kakao.SkillRequest` in, a Kakao response dict out.

The decisions live here; data comes through a :class:`Backend` (``chatbot.deps.LiveBackend`` in the Lambda and
the local stack, an in-memory one in unit tests) and every backend call runs under the request's
:class:`~chatbot.budget.Deadline`. Order of business:

help / greeting → an ``artist_id`` carried by a tapped quick reply → :func:`chatbot.resolve.resolve`
(exact → alias → fuzzy) → Spotify search judged by :func:`chatbot.resolve.judge_search` → reply:
related carousel, pending (known, no related yet), new artist (inserted + async refresh), "did you mean"
(only names that plausibly are what was asked), not known yet (a name nothing plausible matches: a lookup is
queued on ``RefreshQueue`` and the user is told when to ask again), not found. Out of time →
:func:`chatbot.replies.timeout_reply`; Spotify rate limiting → ``busy_reply``.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatbot import replies
from chatbot.budget import Deadline, DeadlineExceeded
from chatbot.i18n import pick_lang
from chatbot.resolve import (
    MAX_CANDIDATES,
    Candidate,
    NameIndex,
    Resolution,
    core_query,
    is_greeting,
    is_help,
    judge_search,
    resolve,
)
from sori.kakao import SkillRequest
from sori.text import normalize

__all__ = [
    "ASK_AGAIN_MINUTES",
    "EXAMPLE_NAMES",
    "REFRESH_EVERY_S",
    "RELATED_LIMIT",
    "SEARCH_CAP_S",
    "Backend",
    "Outcome",
    "SearchUnavailable",
    "answer",
]

log = logging.getLogger(__name__)

RELATED_LIMIT = 10  # related rows read: 4 in the carousel, the rest as quick replies
SEARCH_CAP_S = 1.5  # one Spotify search may take at most this much of the budget
PARTIAL_SEARCH_CAP_S = 0.8  # the optional whole-text search when a name covers only part of the message
SEARCH_MAX_WORDS = 8  # a name or a song title is short: longer text is cut before it goes to Spotify
SEARCH_MAX_CHARS = 100
WHOLE_TEXT_MAX_CHARS = 60  # only a message this short may be a song title worth the extra search
REFRESH_EVERY_S = 600.0  # ask the pipeline to refresh one artist at most this often per container
# A name looked up through RefreshQueue is known to every container after the queue's batching window (5 s), one
# artist's refresh (seconds) and the name index's reload (chatbot.deps.INDEX_TTL_S, 300 s): say 10 minutes.
ASK_AGAIN_MINUTES = 10
LOOKUP_MAX_CHARS = 40  # a name worth looking up is short, has letters, few symbols and at most 5 words
LOOKUP_MAX_WORDS = 5
ALIAS_MAX_LEN = 64
EXAMPLE_NAMES = ("BTS", "BLACKPINK", "IU", "TWICE", "NewJeans", "Ed Sheeran", "Taylor Swift", "SEVENTEEN",
                 "Red Velvet", "Dua Lipa", "Billie Eilish", "Drake")
_ARTIST_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_CODE_CHARS = re.compile(r"[;=<>{}`\\$%*|^]|--|/\*")  # what code and injections are made of, names are not


class SearchUnavailable(RuntimeError):
    """Spotify search cannot be used right now (rate limited, quota, outage): degrade, never retry inline."""


class Backend(Protocol):
    """The data the chatbot reads and the few writes it makes. Every method may block on I/O."""

    def index(self) -> NameIndex: ...

    def artist(self, artist_id: str) -> dict[str, Any] | None: ...

    def related(self, artist_id: str, limit: int) -> list[dict[str, Any]]: ...

    def top_tracks(self, artist_id: str, limit: int) -> list[dict[str, Any]]: ...

    # {"artists": [...], "tracks": [...]}
    def search(self, query: str, types: str, timeout: float) -> dict[str, Any]: ...

    def add_artist(self, artist: Mapping[str, Any]) -> None: ...

    def add_alias(self, alias_norm: str, artist_id: str, source: str) -> bool: ...

    def request_refresh(self, artist_ids: Sequence[str]) -> None: ...

    # a name nothing in the catalog or a search matched: the catalog function looks it up (RefreshQueue)
    def request_lookup(self, names: Sequence[str]) -> None: ...


@dataclass
class Outcome:
    """The reply plus what happened (for logs and tests)."""

    response: dict[str, Any]
    kind: str  # help | greeting | related | pending | new | did_you_mean | not_known | not_found | timeout | busy
    #            | error
    artist_id: str | None = None
    how: str | None = None
    notes: list[str] = field(default_factory=list)


_last_refresh: dict[str, float] = {}


def _examples(index: NameIndex) -> list[tuple[str, str]]:
    out = []
    for name in EXAMPLE_NAMES:
        ids = index.exact(normalize(name))
        if ids:
            out.append((ids[0], index.name(ids[0])))
        if len(out) == 4:
            break
    return out


def lookup_worthy(query: str, said: str = "") -> bool:
    """Could ``query`` (the name part of ``said``, the whole message) be an artist's name worth a Spotify
    lookup: short, letters, few symbols, and nothing in the message that looks like code?

    >>> lookup_worthy("뉴진스"), lookup_worthy("Some Unknown Singer"), lookup_worthy("DROP TABLE", "'; DROP TABLE --")
    (True, True, False)
    """
    q = " ".join(query.split())
    if not q or len(q) > LOOKUP_MAX_CHARS or len(q.split()) > LOOKUP_MAX_WORDS or _CODE_CHARS.search(q + said):
        return False
    letters = sum(ch.isalpha() for ch in q)
    other = sum(not (ch.isalnum() or ch.isspace()) for ch in q)
    return letters >= 2 and other * 5 <= len(q) * 2  # "(G)I-DLE" is a name; "'; --" is not


def _valid_id(v: Any) -> str | None:
    return v if isinstance(v, str) and _ARTIST_ID.match(v) else None


def _tracks_of(artist_id: str, tracks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Spotify track objects (from a search) that are by ``artist_id``."""
    out = []
    for tr in tracks:
        arts = tr.get("artists") if isinstance(tr, Mapping) else None
        if isinstance(arts, list) and any(isinstance(a, Mapping) and a.get("id") == artist_id for a in arts):
            out.append(dict(tr))
    return out


def _artist_row(a: Mapping[str, Any]) -> dict[str, Any]:
    """A Spotify artist object → an ``artists`` row (source: chatbot)."""
    images = a.get("images") or []
    image = images[0].get("url") if images and isinstance(images[0], Mapping) else None
    genres = a.get("genres")
    followers = a.get("followers")
    return {"id": str(a["id"]), "name": str(a["name"]), "image_url": image,
            "genres": [str(g) for g in genres] if isinstance(genres, list) else None,
            "popularity": a.get("popularity") if isinstance(a.get("popularity"), int) else None,
            "followers": followers.get("total") if isinstance(followers, Mapping) else None,
            "source": "chatbot"}


class _Answer:
    def __init__(self, req: SkillRequest, backend: Backend, deadline: Deadline, now: Any = None):
        self.req = req
        self.backend = backend
        self.deadline = deadline
        self.lang = pick_lang(req.lang)
        self.now = now
        self.notes: list[str] = []

    # -- entry --------------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        utt = self.req.utterance
        extra_id = _valid_id(self.req.client_extra.get("artist_id"))
        if not extra_id and is_help(utt):
            return self._examples_reply("help")
        if not extra_id and is_greeting(utt):
            return self._examples_reply("greeting")
        index = self.deadline.run("index", self.backend.index)
        if extra_id and extra_id in index:
            res = Resolution("artist", core_query(utt), (Candidate(extra_id, index.name(extra_id), 100.0, "extra"),))
        else:
            res = resolve(utt, index)
        if res.kind == "empty":
            return self._examples_reply("help", index)
        best = res.best if res.kind == "artist" else None
        if best is not None:  # (an "artist" resolution always has a best candidate; without one, search)
            if res.partial and not extra_id and len(utt.strip()) <= WHOLE_TEXT_MAX_CHARS:
                better = self._whole_text_match(utt, index)
                if better is not None:
                    best = better
            self._learn_from_extra(best.artist_id, index)
            return self._artist_reply(best.artist_id, best.how, known=True)
        return self._search(res, index)

    # -- replies --------------------------------------------------------------------------------------------
    def _examples_reply(self, kind: str, index: NameIndex | None = None) -> Outcome:
        examples: list[Any] = []
        try:
            index = index or self.deadline.run("index", self.backend.index, cap=0.5)
            examples = _examples(index)
        except Exception as e:  # help must answer even when the stores are down
            self.notes.append(f"examples: {e!r}")
        build = replies.help_reply if kind == "help" else replies.greeting_reply
        return Outcome(build(self.lang, examples), kind, notes=self.notes)

    def _artist_reply(self, artist_id: str, how: str, *, known: bool) -> Outcome:
        got = self.deadline.gather("artist", {
            "artist": (self.backend.artist, artist_id),
            "related": (self.backend.related, artist_id, RELATED_LIMIT),
            "tracks": (self.backend.top_tracks, artist_id, replies.TOP_TRACKS_SINGLE),
        })
        artist = got.get("artist")
        if artist is None:
            if "artist" not in got:  # the catalog failed, or did not answer in time
                err = self.deadline.errors.get("artist:artist", "late")
                if err != "late":
                    raise RuntimeError(f"artist lookup failed: {err}")
                raise DeadlineExceeded("artist")
            return self._not_found(artist_id)
        related = [r for r in got.get("related") or [] if r.get("related_id")]
        tracks = got.get("tracks") or []
        if related:
            cards = related[: replies.CARDS_RELATED]
            more = self.deadline.gather("related_tracks", {
                str(r["related_id"]): (self.backend.top_tracks, str(r["related_id"]), replies.TRACKS_PER_CARD)
                for r in cards})
            resp = replies.related_reply(self.lang, artist, tracks, related, more)
            return Outcome(resp, "related", artist_id, how, self.notes)
        if not tracks and artist.get("refreshed_at") is None:
            self._refresh(artist_id)
        return Outcome(replies.pending_reply(self.lang, artist, tracks, new=False, now=self.now), "pending",
                       artist_id, how, self.notes)

    def _not_found(self, query: str, index: NameIndex | None = None) -> Outcome:
        examples = _examples(index) if index is not None else []
        return Outcome(replies.not_found_reply(self.lang, query, examples), "not_found", notes=self.notes)

    def _did_you_mean(self, query: str, cands: Sequence[Candidate]) -> Outcome:
        rows = [{"artist_id": c.artist_id, "name": c.name} for c in cands]
        return Outcome(replies.did_you_mean_reply(self.lang, query, rows), "did_you_mean", notes=self.notes)

    # -- search -----------------------------------------------------------------------------------------------
    def _search(self, res: Resolution, index: NameIndex) -> Outcome:
        query = " ".join(res.query.split()[:SEARCH_MAX_WORDS])[:SEARCH_MAX_CHARS]
        local = list(res.candidates)
        try:
            found = self.deadline.run("search", self.backend.search, query, "artist,track",
                                      min(SEARCH_CAP_S, self.deadline.remaining()), cap=SEARCH_CAP_S,
                                      pool="search")
        except SearchUnavailable as e:
            self.notes.append(f"search unavailable: {e}")
            if local:
                return self._did_you_mean(query, local)
            return Outcome(replies.busy_reply(self.lang, self.req.utterance), "busy", notes=self.notes)
        except DeadlineExceeded:
            if local and not self.deadline.expired:
                return self._did_you_mean(query, local)
            raise
        artists = found.get("artists") or []
        tracks = found.get("tracks") or []
        verdict = judge_search(query, artists, tracks, index, also=[self.req.utterance])
        m = verdict.match
        if m is not None:
            self.notes.append(f"search match via {m.how}")
            if m.known:
                self._learn(verdict.alias, m.artist_id, "search", index)
                self._learn_from_extra(m.artist_id, index)
                return self._artist_reply(m.artist_id, m.how, known=True)
            return self._new_artist(m, tracks, verdict.alias, index)
        seen = {c.artist_id for c in local}
        cands = local + [c for c in verdict.candidates if c.artist_id not in seen]
        if cands:
            return self._did_you_mean(query, cands[:MAX_CANDIDATES])
        if lookup_worthy(query, self.req.utterance) and self._lookup(query):
            return Outcome(replies.not_known_reply(self.lang, query, ASK_AGAIN_MINUTES, self.req.utterance),
                           "not_known", notes=self.notes)
        return self._not_found(query, index)

    def _whole_text_match(self, utterance: str, index: NameIndex) -> Candidate | None:
        """The name found covers only part of the text: is the whole text a song title (or a longer name) that
        Spotify knows *and* we have? Best effort within :data:`PARTIAL_SEARCH_CAP_S`; None keeps the local match."""
        text = " ".join(utterance.split())[:200]
        try:
            found = self.deadline.run("search_whole", self.backend.search, text, "artist,track",
                                      min(PARTIAL_SEARCH_CAP_S, self.deadline.remaining()),
                                      cap=PARTIAL_SEARCH_CAP_S, pool="search")
        except (SearchUnavailable, DeadlineExceeded) as e:
            self.notes.append(f"whole-text search skipped: {e!r}")
            return None
        verdict = judge_search(text, found.get("artists") or [], found.get("tracks") or [], index)
        m = verdict.match
        if m is not None and m.known:
            self.notes.append(f"whole text matched via {m.how}")
            return m
        return None

    def _new_artist(self, m: Candidate, tracks: Sequence[Mapping[str, Any]], alias: str | None,
                    index: NameIndex) -> Outcome:
        a = m.detail.get("artist")
        if not isinstance(a, Mapping):  # judge_search puts the artist object on every new-artist match
            raise ValueError(f"search match {m.artist_id!r} carries no artist object")
        row = _artist_row(a)
        self.deadline.run("insert", self.backend.add_artist, row)
        index.add_artist(row["id"], row["name"])
        self._learn(alias, row["id"], "search", index)
        self._learn_from_extra(row["id"], index)
        self._refresh(row["id"])
        own = _tracks_of(row["id"], tracks)
        if not own and self.deadline.remaining() > 0.5:
            try:
                more = self.deadline.run("search_tracks", self.backend.search, f'artist:"{row["name"]}"', "track",
                                         min(SEARCH_CAP_S, self.deadline.remaining()), cap=SEARCH_CAP_S,
                                      pool="search")
                own = _tracks_of(row["id"], more.get("tracks") or [])
            except (SearchUnavailable, DeadlineExceeded) as e:  # the artist is in; the tracks can wait
                self.notes.append(f"new artist tracks: {e!r}")
        return Outcome(replies.pending_reply(self.lang, row, own, new=True, now=self.now), "new", row["id"],
                       m.how, self.notes)

    # -- writes ---------------------------------------------------------------------------------------------
    def _learn_from_extra(self, artist_id: str, index: NameIndex) -> None:
        """A tapped "did you mean" quick reply carries the user's original words: they name this artist."""
        extra = self.req.client_extra
        alias = extra.get("alias")
        if _valid_id(extra.get("artist_id")) == artist_id and isinstance(alias, str):
            self._learn(alias, artist_id, "chatbot", index)

    def _learn(self, alias: str | None, artist_id: str, source: str, index: NameIndex) -> None:
        if not alias or len(alias) > ALIAS_MAX_LEN:
            return
        norm = normalize(alias)
        if not norm or norm in index.by_norm or artist_id in index.alias(norm):
            return  # already a name (of someone) or already known
        try:
            self.deadline.run("alias", self.backend.add_alias, norm, artist_id, source, cap=0.5)
            index.add_alias(norm, artist_id)
            self.notes.append(f"learned alias {norm!r} -> {artist_id} ({source})")
        except Exception as e:  # learning is a bonus; the answer goes on
            self.notes.append(f"alias not learned: {e!r}")

    def _lookup(self, name: str) -> bool:
        """Ask the pipeline to look ``name`` up (at most once per :data:`REFRESH_EVERY_S` per container).
        True when the request is out (or was sent recently): only then may the reply promise a later answer."""
        key = "name:" + normalize(name)
        now = time.monotonic()
        if now - _last_refresh.get(key, -1e9) < REFRESH_EVERY_S:
            return True
        try:
            self.deadline.run("lookup", self.backend.request_lookup, [name], cap=0.5)
        except Exception as e:  # no promise we cannot keep: the reply says "not found" instead
            self.notes.append(f"lookup not requested: {e!r}")
            return False
        _last_refresh[key] = now
        self.notes.append(f"lookup requested for {name!r}")
        return True

    def _refresh(self, artist_id: str) -> None:
        now = time.monotonic()
        if now - _last_refresh.get(artist_id, -1e9) < REFRESH_EVERY_S:
            return
        try:
            self.deadline.run("refresh", self.backend.request_refresh, [artist_id], cap=0.5)
            _last_refresh[artist_id] = now
            self.notes.append(f"refresh requested for {artist_id}")
        except Exception as e:  # the nightly refresh will pick it up anyway
            self.notes.append(f"refresh not requested: {e!r}")


def answer(req: SkillRequest, backend: Backend, deadline: Deadline, *, now: Any = None) -> Outcome:
    """The reply to one skill request; never raises for a valid request (timeouts and failures degrade)."""
    a = _Answer(req, backend, deadline, now)
    lang = a.lang
    try:
        return a.run()
    except DeadlineExceeded as e:
        a.notes.append(f"deadline: {e.step}")
        return Outcome(replies.timeout_reply(lang, req.utterance), "timeout", notes=a.notes)
    except Exception as e:  # any store failure: a polite answer, logged
        log.exception("chatbot answer failed")
        a.notes.append(f"error: {e!r}")
        return Outcome(replies.error_reply(lang), "error", notes=a.notes)
