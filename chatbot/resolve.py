"""Name resolution: which artist does an utterance mean? Pure logic over an in-memory :class:`NameIndex`.

The chain (each step only when the previous one is not sure):

1. **exact** — every span of the utterance (1–6 words, Korean particles and request words such as "같은",
   "추천해줘", "like", "songs" peeled off the end) is normalised with :func:`sori.text.normalize` and looked up
   in ``artists.name_norm``;
2. **alias** — the same keys in ``artist_aliases`` (curated 샤이니 ↔ SHINee, and aliases learned from searches
   the user confirmed);
3. **fuzzy** — rapidfuzz over the names and aliases, compared as decomposed jamo (NFD) so a Hangul typo costs
   one letter, not a whole syllable; a clear winner (≥ :data:`FUZZY_SURE`) is taken, otherwise the close ones
   become "did you mean" candidates;
4. **romanized** — Hangul typed for a Latin name ("블랙핑크" → BLACKPINK) is compared by how it sounds
   (:func:`phonetic_similarity`: consonant classes and vowel groups, a weighted edit distance), so unrelated
   names that merely share consonants ("뉴진스" / "Nonsens") are not offered; this route only ever *suggests*;
5. **Spotify search** is the caller's job (network); :func:`judge_search` decides whether what it found is a
   clear match (a name or a song title equal to the query — a dotted initialism such as "M.U.S.E." is not the
   word "Muse", :func:`form_conflict` — or a Hangul query that sounds like the top artist) and which alias that
   confirms. Anything less becomes "did you mean" quick replies, but only for names that plausibly are what was
   asked (:func:`name_similarity`); with none, the caller says the artist is not known yet and asks for a
   lookup.

>>> idx = NameIndex([("a1", "BLACKPINK", "blackpink"), ("a2", "SHINee", "shinee")], [("샤이니", "a2")])
>>> resolve("BLACKPINK 같은 가수 추천해줘", idx).best.artist_id
'a1'
>>> r = resolve("샤이니랑 비슷한 노래", idx); (r.kind, r.best.artist_id, r.best.how)
('artist', 'a2', 'alias')
>>> r = resolve("blakpink", idx); (r.kind, r.best.name, r.best.how)
('artist', 'BLACKPINK', 'fuzzy')

Stdlib + rapidfuzz + :mod:`sori.text` only (the chatbot's cold start).
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from chatbot.similarity import (
    MAX_ROMANIZED,
    NAME_SUGGEST,
    PHONETIC_CONFIRM,
    PHONETIC_MIN_TOKENS,
    PHONETIC_PREFILTER,
    PHONETIC_SUGGEST,
    VOWEL_CONFIRM,
    VOWEL_SUGGEST,
    form_conflict,
    fuzzy_key,
    name_similarity,
    phonetic_distance,
    phonetic_key,
    phonetic_similarity,
    plausible,
    skeleton,
    sound_similarity,
    sounds_alike,
    vowel_similarity,
)
from sori.text import contains_hangul, normalize

__all__ = [
    "FUZZY_SUGGEST",
    "FUZZY_SURE",
    "NAME_SUGGEST",
    "PHONETIC_CONFIRM",
    "PHONETIC_SUGGEST",
    "VOWEL_SUGGEST",
    "Candidate",
    "NameIndex",
    "Resolution",
    "SearchVerdict",
    "core_query",
    "form_conflict",
    "is_greeting",
    "is_help",
    "judge_search",
    "name_similarity",
    "phonetic_key",
    "phonetic_similarity",
    "plausible",
    "resolve",
    "skeleton",
    "sound_similarity",
    "vowel_similarity",
]

# --- thresholds (rapidfuzz ratio, 0..100) -------------------------------------------------------------------
FUZZY_SURE = 88.0  # a typo we correct without asking (and only with a clear margin over the runner-up)
FUZZY_MARGIN = 6.0
FUZZY_SUGGEST = 72.0  # close enough to offer as "did you mean"
FUZZY_MIN_LEN = 4  # shorter keys ("bts") are too short to correct; counted in jamo, so "샤이나" (7) qualifies
MAX_UTTERANCE = 200  # characters looked at; the rest of a long message is ignored
MAX_TOKENS = 30
MAX_SPAN = 6  # words in one artist name
MAX_CANDIDATES = 5

# --- words around a name in a request ----------------------------------------------------------------------
# Korean request words and particles, peeled off the end of a word ("블랙핑크같은가수추천" -> "블랙핑크").
_KO_SUFFIXES: tuple[str, ...] = (
    "추천해주세요", "추천해줄래", "추천해줘요", "추천해줘", "추천부탁", "추천좀", "추천", "알려주세요", "알려줘요",
    "알려줘",
    "찾아주세요", "찾아줘", "들려줘", "틀어줘", "해주세요", "해줘요", "해줘", "주세요", "줘요", "줘",
    "좋아하는데", "좋아하는", "좋아해요", "좋아해", "좋아요", "좋아", "듣고싶어", "싶어요", "싶어", "있나요",
    "있어요", "있어",
    "비슷한거", "비슷한", "유사한", "같은거", "같은", "같이", "처럼", "느낌", "스타일", "계열", "류",
    "가수들", "가수", "아티스트", "뮤지션", "그룹", "밴드", "노래들", "노래", "음악", "인기곡", "곡",
    "이랑", "랑", "하고", "께서", "한테", "에게", "이나", "의", "은", "는", "이", "가", "을", "를", "과", "와", "도",
    "만", "요", "꺼", "거",
)
_KO_SUFFIXES = tuple(sorted(set(_KO_SUFFIXES), key=len, reverse=True))
# Whole words that carry no name (normalised). Korean ones are the suffixes above plus a few more.
_FILLERS = frozenset(normalize(w) for w in (
    *_KO_SUFFIXES, "좀", "뭐", "뭐야", "누구", "누가", "또", "다른", "부른", "부른사람", "들을만한", "들어볼만한",
    "요즘",
    "최근", "제일", "인기", "나랑", "나", "저", "나는", "저는", "제가", "내가", "혹시", "그", "이런", "말고", "더",
    "플리", "플레이리스트", "취향", "분위기", "추천해", "추천해줄수있어", "찾고", "있는데", "알아",
    "i", "im", "i'm", "me", "my", "like", "likes", "love", "loves", "similar", "to", "artist", "artists", "singer",
    "singers", "band", "bands", "group", "groups", "song", "songs", "track", "tracks", "music", "who", "whos",
    "sound", "sounds", "sounding", "recommend", "recommendation", "recommendations", "some", "please", "any",
    "more", "other", "others", "find", "show", "give", "want", "need", "listen", "listening", "into", "fan",
    "fans", "of", "by", "what", "whats", "is", "are", "a", "an", "and", "or", "for", "with", "can", "could",
    "you", "tell", "about", "else", "also", "than", "if", "get", "do", "does", "just", "really", "lot", "lots",
    "stuff", "vibe", "vibes", "style", "kind", "sort", "as", "same", "suggest", "suggestions", "play", "hey",
))
# A name sits right before these (Korean) or right after these (English): spans next to them win ties.
_MARK_AFTER = frozenset(normalize(w) for w in (
    "같은", "처럼", "비슷한", "느낌", "스타일", "같은가수", "노래", "랑", "이랑"))
_MARK_BEFORE = frozenset(("like", "to", "than", "by"))
_GREETINGS = frozenset(normalize(w) for w in (
    "안녕", "안녕하세요", "안녕하십니까", "하이", "헬로", "반가워", "반가워요", "hi", "hello", "hey", "yo",
    "good morning", "hiya", "ㅎㅇ", "방가"))
_HELP = frozenset(normalize(w) for w in (
    "도움말", "도움", "help", "사용법", "어떻게 써", "뭐 할 수 있어", "시작", "시작하기", "처음으로", "메뉴", "start",
    "menu", "?", "how to use", "what can you do"))

_TOKEN = re.compile(r"\S+")


def is_greeting(utterance: str) -> bool:
    """"안녕하세요", "hi", ... (the whole message, normalised)."""
    return normalize(utterance[:MAX_UTTERANCE]) in _GREETINGS


def is_help(utterance: str) -> bool:
    """"도움말", "help", an empty or punctuation-only message ..."""
    n = normalize(utterance[:MAX_UTTERANCE])
    return not n or n in _HELP



# --------------------------------------------------------------------------------------------------------------
# Index
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """One artist an utterance may mean. ``how``: exact | alias | fuzzy | romanized | search | track."""

    artist_id: str
    name: str
    score: float = 100.0
    how: str = "exact"
    known: bool = True  # in our catalog (MySQL) already
    detail: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Resolution:
    """``kind``: ``artist`` (sure: ``best``), ``ambiguous`` (``candidates`` to offer), ``unknown`` (search
    ``query``), ``empty`` (nothing that could be a name). ``partial``: the name found covers only part of
    what was said ("Boy With Luv (feat. Halsey)" holds the name Halsey, but may be a song title): worth a
    search for the whole text before settling."""

    kind: str
    query: str = ""
    candidates: tuple[Candidate, ...] = ()
    partial: bool = False

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class NameIndex:
    """Names and aliases in memory: exact dicts plus rapidfuzz choice lists. Thread-safe for reads and adds.

    ``names``: ``(artist_id, name, name_norm)`` rows (``ArtistStore.name_index()``);
    ``aliases``: ``(alias_norm, artist_id)`` rows.
    """

    def __init__(self, names: Iterable[Sequence[str]], aliases: Iterable[Sequence[str]] = ()):
        self._lock = threading.Lock()
        self.display: dict[str, str] = {}
        self.by_norm: dict[str, list[str]] = {}
        self.by_alias: dict[str, list[str]] = {}
        self._keys: list[str] = []  # fuzzy choice keys (NFD norms) ...
        self._key_ids: list[str] = []  # ... and the artist each belongs to
        self._phon: list[str] = []  # phonetic keys of the Latin names (for Hangul queries) ...
        self._phon_ids: list[str] = []  # ... and their artists
        # the fuzzy and phonetic keys (~0.1 s for 10k names) are built on first fuzzy use, not at load: a cold
        # container's first answer is usually an exact name and need not wait for them (see :meth:`warm`)
        self._pending: list[tuple[str, str, str]] = []  # (key norm, artist_id, name to key phonetically or "")
        self._fuzzy_ready = False
        for artist_id, name, norm in names:
            self._add_name(artist_id, name, norm or normalize(name))
        for alias_norm, artist_id in aliases:
            self._add_alias(alias_norm, artist_id)

    def __len__(self) -> int:
        return len(self.display)

    def __contains__(self, artist_id: object) -> bool:
        return artist_id in self.display

    def _add_name(self, artist_id: str, name: str, norm: str) -> None:
        if not artist_id or not norm:
            return
        first = artist_id not in self.display
        self.display[artist_id] = name
        ids = self.by_norm.setdefault(norm, [])
        if artist_id not in ids:  # (an artist seen for the first time is in no list yet)
            ids.append(artist_id)
            self._add_fuzzy(norm, artist_id, name if first else "")

    def _add_alias(self, alias_norm: str, artist_id: str) -> None:
        if not alias_norm or artist_id not in self.display:
            return
        ids = self.by_alias.setdefault(alias_norm, [])
        if artist_id not in ids:
            ids.append(artist_id)
            self._add_fuzzy(alias_norm, artist_id)

    def _add_fuzzy(self, key_norm: str, artist_id: str, phonetic_of: str = "") -> None:
        if self._fuzzy_ready:
            self._index_fuzzy(key_norm, artist_id, phonetic_of)
        else:
            self._pending.append((key_norm, artist_id, phonetic_of))

    def _index_fuzzy(self, key_norm: str, artist_id: str, phonetic_of: str) -> None:
        self._keys.append(fuzzy_key(key_norm))
        self._key_ids.append(artist_id)
        if phonetic_of and not contains_hangul(key_norm):  # Latin names only: the Hangul queries' counterpart
            key = phonetic_key(phonetic_of)
            if len(key) >= PHONETIC_MIN_TOKENS:
                self._phon.append(key)
                self._phon_ids.append(artist_id)

    def warm(self) -> NameIndex:
        """Build the fuzzy and phonetic keys now (idempotent; :meth:`fuzzy` and :meth:`romanized` call it).

        >>> idx = NameIndex([("a1", "BLACKPINK", "blackpink")]); idx.warm() is idx, len(idx._keys)
        (True, 1)
        """
        if not self._fuzzy_ready:
            with self._lock:
                if not self._fuzzy_ready:
                    for key_norm, artist_id, phonetic_of in self._pending:
                        self._index_fuzzy(key_norm, artist_id, phonetic_of)
                    self._pending.clear()
                    self._fuzzy_ready = True
        return self

    def add_artist(self, artist_id: str, name: str) -> None:
        """Make a just-inserted artist findable in this container without waiting for the next reload."""
        with self._lock:
            self._add_name(artist_id, name, normalize(name))

    def add_alias(self, alias_norm: str, artist_id: str) -> None:
        with self._lock:
            self._add_alias(alias_norm, artist_id)

    def name(self, artist_id: str) -> str:
        return self.display.get(artist_id, artist_id)

    def exact(self, norm: str) -> list[str]:
        return list(self.by_norm.get(norm, ()))

    def alias(self, norm: str) -> list[str]:
        return list(self.by_alias.get(norm, ()))

    def fuzzy(self, norm: str, *, cutoff: float = FUZZY_SUGGEST, limit: int = 10) -> list[tuple[str, float]]:
        """Best score per artist for ``norm`` against every name and alias, best first."""
        key = fuzzy_key(norm)
        if len(key) < FUZZY_MIN_LEN or not self.warm()._keys:
            return []
        hits = process.extract(key, self._keys, scorer=fuzz.ratio, score_cutoff=cutoff,
                               limit=limit * 3)
        return _best_per_artist((self._key_ids[i], score) for _, score, i in hits)[:limit]

    def romanized(self, text: str, *, cutoff: float = PHONETIC_SUGGEST, vowels: float = VOWEL_SUGGEST,
                  limit: int = MAX_ROMANIZED) -> list[tuple[str, float]]:
        """Latin names that sound like the Hangul ``text`` (:func:`sound_similarity`: frame ≥ ``cutoff`` and
        vowels ≥ ``vowels``), best first; nothing for a key of fewer than :data:`PHONETIC_MIN_TOKENS` sounds."""
        key = phonetic_key(text)
        if len(key) < PHONETIC_MIN_TOKENS or not self.warm()._phon:
            return []
        hits = process.extract(key, self._phon, scorer=fuzz.ratio, score_cutoff=PHONETIC_PREFILTER, limit=60)
        out = []
        for k, _, i in hits:
            frame = 100.0 * (1.0 - phonetic_distance(key, k) / max(len(key), len(k)))
            if frame >= cutoff:
                aid = self._phon_ids[i]
                v = vowel_similarity(text, self.display.get(aid, ""))
                if v >= vowels:
                    out.append((aid, min(frame, v + 100.0 - vowels)))
        return _best_per_artist(out)[:limit]


def _best_per_artist(pairs: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for aid, score in pairs:
        if score > best.get(aid, -1.0):
            best[aid] = float(score)
    return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))


# --------------------------------------------------------------------------------------------------------------
# Spans of the utterance
# --------------------------------------------------------------------------------------------------------------

def _peel(token_norm: str) -> list[str]:
    """The token and what remains after peeling request words/particles off its end, longest first."""
    out = [token_norm]
    cur = token_norm
    for _ in range(6):
        for suf in _KO_SUFFIXES:
            if cur.endswith(suf) and len(cur) > len(suf):
                cur = cur[: -len(suf)]
                out.append(cur)
                break
        else:
            break
    return out


def _is_filler(token_norm: str) -> bool:
    if not token_norm or token_norm in _FILLERS:
        return True
    return _peel(token_norm)[-1] in _FILLERS


@dataclass(frozen=True)
class _Tok:
    raw: str
    norm: str
    peeled: tuple[str, ...]  # norm first, then ever shorter
    filler: bool


def _tokens(utterance: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(utterance[:MAX_UTTERANCE]):
        raw = m.group(0)
        norm = normalize(raw)
        if not norm:
            continue
        out.append(_Tok(raw, norm, tuple(_peel(norm)), _is_filler(norm)))
        if len(out) == MAX_TOKENS:
            break
    return out


def _strip_raw(raw: str, norm_kept: str) -> str:
    """The shortest prefix of ``raw`` whose normalisation is ``norm_kept`` (to search with the user's spelling)."""
    for i in range(1, len(raw) + 1):
        if normalize(raw[:i]) == norm_kept:
            return raw[:i]
    return raw


_SAFE_SINGLE = frozenset("랑의는를을와과도요은")  # one-syllable particles that rarely end a name
_UNSAFE_MULTI = frozenset(("이나", "하고", "께서"))  # particles that also end names ("샤이나")
_LATIN_THEN_HANGUL = re.compile(r"^(.*[^\uac00-\ud7a3\u3131-\u318e])[\uac00-\ud7a3]+$")


def _conservative(norm: str) -> str:
    """Peel only what is surely grammar: a Hangul tail on a Latin word ("bts는"), request words, and the
    particles in :data:`_SAFE_SINGLE` ("샤이니랑" -> "샤이니", but "싸이" stays)."""
    m = _LATIN_THEN_HANGUL.match(norm)
    if m and not contains_hangul(m.group(1)):
        return m.group(1)
    cur = norm
    for _ in range(6):
        for suf in _KO_SUFFIXES:
            if (cur.endswith(suf) and len(cur) - len(suf) >= 2 and suf not in _UNSAFE_MULTI
                    and (len(suf) > 1 or suf in _SAFE_SINGLE)):
                cur = cur[: -len(suf)]
                break
        else:
            break
    return cur


def core_query(utterance: str) -> str:
    """The part of an utterance that can be a name, in the user's own spelling: request words dropped.

    >>> (core_query("BLACKPINK 같은 가수 추천해줘"), core_query("샤이니랑 비슷한 노래"),
    ...  core_query("artists like Red Velvet"))
    ('BLACKPINK', '샤이니', 'Red Velvet')
    >>> core_query("BTS는 좋아"), core_query("싸이"), core_query("(여자)아이들이랑")
    ('BTS', '싸이', '(여자)아이들')
    """
    toks = _tokens(utterance)
    kept = [t for t in toks if not t.filler] or toks  # only request words: they may be a name ("Love")
    return " ".join(_strip_raw(t.raw, _conservative(t.norm)) for t in kept).strip()


# --------------------------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------------------------

_HOW_RANK = {"exact": 2, "alias": 1}


def _exact_or_alias(toks: list[_Tok], index: NameIndex) -> tuple[list[Candidate], list[Candidate]]:
    """Best exact/alias match over every span; ties go to spans next to a marker, then longer keys. Second:
    exact names the span equals only in another form ("M.U.S.E." / Muse, :func:`form_conflict`) — to ask about."""
    best: dict[str, tuple[tuple[Any, ...], Candidate]] = {}
    other_form: dict[str, Candidate] = {}
    only_fillers = all(t.filler for t in toks)
    n = len(toks)
    for i in range(n):
        for j in range(i + 1, min(n, i + MAX_SPAN) + 1):
            span = toks[i:j]
            if not only_fillers and all(t.filler for t in span):
                continue
            head = "".join(t.norm for t in span[:-1])
            raw = " ".join(t.raw for t in span)
            last = span[-1]
            before = toks[i - 1].norm if i > 0 else ""
            after = toks[j].norm if j < n else ""
            marked = before in _MARK_BEFORE or after in _MARK_AFTER or _peel(after)[-1] in _MARK_AFTER
            for k, variant in enumerate(last.peeled):
                key = head + variant
                if not key:
                    continue
                attached = k > 0  # a particle/request word was glued to the name ("블랙핑크같은")
                for how, ids in (("exact", index.exact(key)), ("alias", index.alias(key))):
                    for aid in ids:
                        if how == "exact" and form_conflict(raw, index.name(aid)):
                            other_form.setdefault(aid, Candidate(aid, index.name(aid), 100.0, "form", True,
                                                                 {"key": key}))
                            continue
                        rank = (marked or attached, len(key), _HOW_RANK[how], -i)
                        rest = toks[:i] + toks[j:]
                        partial = any(not t.filler for t in rest)
                        cand = Candidate(aid, index.name(aid), 100.0, how, True, {"key": key, "partial": partial})
                        if aid not in best or rank > best[aid][0]:
                            best[aid] = (rank, cand)
    ranked = sorted(best.values(), key=lambda rc: rc[0], reverse=True)
    return [c for _, c in ranked], [c for aid, c in other_form.items() if aid not in best]


def resolve(utterance: str, index: NameIndex) -> Resolution:
    """Resolve ``utterance`` against ``index`` (no I/O). See the module docstring for the chain."""
    toks = _tokens(utterance)
    if not toks:
        return Resolution("empty")
    query = core_query(utterance)

    found, other_form = _exact_or_alias(toks, index)
    if found:
        top = found[0]
        # Several artists share the very same key (two artists called "Rain"): let the user pick.
        same = [c for c in found if c.detail.get("key") == top.detail.get("key")]
        partial = bool(top.detail.get("partial"))
        if len(same) > 1:
            return Resolution("artist", query, tuple(same[:MAX_CANDIDATES]), partial)
        return Resolution("artist", query, (top,), partial)

    qn = normalize(query)
    if not qn:
        return Resolution("empty")
    # fuzzy over the core, and over each core word when there are several
    keys = [qn] + [_conservative(t.norm) for t in toks if not t.filler and len(toks) > 1]
    scored: dict[str, float] = {}
    for key in dict.fromkeys(keys):
        for aid, score in index.fuzzy(key):
            scored[aid] = max(score, scored.get(aid, 0.0))
    fuzzy = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
    if fuzzy and not other_form:  # a name we have only in another form is never "corrected" to: search, ask
        (aid, best), runner = fuzzy[0], (fuzzy[1][1] if len(fuzzy) > 1 else 0.0)
        if best >= FUZZY_SURE and best - runner >= FUZZY_MARGIN and not form_conflict(query, index.name(aid)):
            return Resolution("artist", query, (Candidate(aid, index.name(aid), best, "fuzzy"),))
    cands = list(other_form)
    seen = {c.artist_id for c in cands}
    cands += [Candidate(aid, index.name(aid), sc, "fuzzy") for aid, sc in fuzzy if aid not in seen]
    cands = cands[:MAX_CANDIDATES]
    if contains_hangul(query):
        seen = {c.artist_id for c in cands}
        for aid, sc in index.romanized(query):
            if aid not in seen and len(cands) < MAX_CANDIDATES:
                cands.append(Candidate(aid, index.name(aid), sc, "romanized"))
    if cands:
        return Resolution("ambiguous", query, tuple(cands))
    return Resolution("unknown", query)


# --------------------------------------------------------------------------------------------------------------
# Judging a Spotify search
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchVerdict:
    """What a search for ``query`` established. ``match`` is a clear hit (or None); ``alias`` a Hangul name
    the hit confirms (to remember); ``candidates`` the rest, for "did you mean"."""

    match: Candidate | None = None
    alias: str | None = None
    candidates: tuple[Candidate, ...] = ()


def _artist_cand(a: Mapping[str, Any], how: str, index: NameIndex, score: float = 100.0, **detail: object) -> Candidate:
    aid = str(a.get("id") or "")
    return Candidate(aid, str(a.get("name") or aid), score, how, aid in index, {"artist": dict(a), **detail})


def _same_name(said: Sequence[str], name: str) -> bool:
    """``name`` equals one of the spellings in ``said`` once normalised, without a :func:`form_conflict`."""
    nn = normalize(name)
    return any(normalize(x) == nn and not form_conflict(x, name) for x in said if x)


def judge_search(query: str, artists: Sequence[Mapping[str, Any]], tracks: Sequence[Mapping[str, Any]],
                 index: NameIndex, *, also: Sequence[str] = ()) -> SearchVerdict:
    """Decide what a Spotify search (``artists``/``tracks``: Web API objects, best first) found for ``query``.

    Clear matches only: an artist whose name *is* the query (normalised, and not a different form of it: a
    dotted initialism and a word are two names, :func:`form_conflict`); a Hangul query that sounds like the top
    artist's Latin name (:func:`phonetic_similarity` ≥ :data:`PHONETIC_CONFIRM`; confirms the alias); a track
    whose title *is* the query (its first artist). Everything else is a candidate to ask about — never a row to
    insert — and only when it plausibly is what was asked (:func:`plausible` for the artist's name or the
    track's title), or when Spotify itself bridged the scripts: its top artist for a
    Hangul query has a Latin name ("방탄소년단" finds BTS). ``also``: other spellings of the request that a name
    or title may equal (the whole utterance, when ``query`` is its core).

    >>> idx = NameIndex([])
    >>> v = judge_search("blackpink", [{"id": "x", "name": "BLACKPINK"}], [], idx); (v.match.name, v.match.known)
    ('BLACKPINK', False)
    >>> judge_search("블랙핑크", [{"id": "x", "name": "BLACKPINK"}], [], idx).alias
    '블랙핑크'
    >>> judge_search("hello world", [{"id": "x", "name": "World Hello"}], [], idx).match is None
    True
    >>> v = judge_search("M.U.S.E.", [{"id": "m", "name": "Muse"}], [], idx); (v.match, [c.name for c in v.candidates])
    (None, ['Muse'])
    """
    said = [query, *also]
    qn = normalize(query)
    artists = [a for a in artists if isinstance(a, Mapping) and a.get("id") and a.get("name")]
    tracks = [t for t in tracks if isinstance(t, Mapping) and t.get("name") and t.get("artists")]
    if not qn:
        return SearchVerdict()
    for a in artists:
        if _same_name(said, str(a["name"])):
            return SearchVerdict(_artist_cand(a, "search", index))
    hangul = contains_hangul(qn)
    bridged = bool(artists) and hangul and not contains_hangul(normalize(str(artists[0]["name"])))
    if bridged and sounds_alike(qn, str(artists[0]["name"]), PHONETIC_CONFIRM, VOWEL_CONFIRM):
        return SearchVerdict(_artist_cand(artists[0], "search", index), alias=qn)
    for t in tracks:
        if _same_name(said, str(t["name"])):
            first = t["artists"][0]
            if isinstance(first, Mapping) and first.get("id") and first.get("name"):
                return SearchVerdict(_artist_cand(first, "track", index, track=t.get("name")))
    cands: list[Candidate] = []
    seen: set[str] = set()
    for rank, a in enumerate(artists):
        score = name_similarity(query, str(a["name"]))
        if a["id"] not in seen and (plausible(query, str(a["name"])) or (rank == 0 and bridged)):
            seen.add(a["id"])
            cands.append(_artist_cand(a, "search", index, score=score))
    for t in tracks:
        first = t["artists"][0]
        score = name_similarity(query, str(t["name"]))
        if (isinstance(first, Mapping) and first.get("id") and first.get("name") and first["id"] not in seen
                and plausible(query, str(t["name"]))):
            seen.add(first["id"])
            cands.append(_artist_cand(first, "track", index, score=score, track=t.get("name")))
    return SearchVerdict(None, None, tuple(cands[:MAX_CANDIDATES]))
