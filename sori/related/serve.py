"""What the related builder publishes: the blend exactly as ``sori.related.listeners`` measures it, over every
collection the lake holds, with truthful reasons (:mod:`sori.related.reasons`) and its own held-out score.

>>> # rows, summary = build_served(tracks, members, genres)   # lake frames in, RelatedStore rows out
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from sori.related.blend import (
    FEATURES,
    SOURCES,
    Signals,
    Weights,
    build_audio,
    build_signals,
    learn_weights,
    rank_blend,
)
from sori.related.hybrid import Ranking
from sori.related.listeners import evaluate_blend, universe_of
from sori.related.profiles import closest_features
from sori.related.reasons import telling_parts

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Where a missing source comes from, for the build summary.
SOURCE_ORIGIN = {"playlist": "public playlists (development mode reads only the app user's own)",
                 "collab": "tracks credited to several artists", "chart": "weekly country charts",
                 "session": "the listening user's recently played", "genre": "artist genres"}
_DATE = re.compile(r"\s+\d{4}-\d{2}-\d{2}$|\s+\d+$")


#: Fewer playlists than this: the public ones are missing (development mode reads only the user's own).
FEW_PLAYLISTS = 20


def missing_sources(kinds: dict[str, int]) -> dict[str, str]:
    """The sources a build lacks (none of their collections), and public playlists when only a handful came.

    >>> missing_sources({"playlist": 6, "collab": 10, "chart": 62, "session": 9, "genre": 25})
    {'playlist': "public playlists (development mode reads only the app user's own): 6 playlists in all"}
    """
    out = {kind: SOURCE_ORIGIN[kind] for kind, n in kinds.items() if n == 0}
    if 0 < kinds.get("playlist", 0) < FEW_PLAYLISTS:
        out["playlist"] = f"{SOURCE_ORIGIN['playlist']}: {kinds['playlist']} playlists in all"
    return out


def _contributions(weights: Weights, has_collection: bool, x: np.ndarray) -> dict[str, float]:
    w = weights.w if has_collection or weights.sound is None else weights.sound
    return {f: float(w[j] * x[j]) for j, f in enumerate(FEATURES) if f != "prior"}


def choose_parts(mode: str, telling: list[str], *, collab: bool, playlists: int, sessions: int,
                 sound: bool, most: int = 3) -> list[str]:
    """Which parts a reason tells, in order: what listeners did together first (a shared credit, shared
    playlists or sessions: facts, when their signal counted at all), then a chart fingerprint or the sound
    only where they carried the score (or, by sound, for an artist with no collection), and the shared
    genres only when there is little else to say.

    >>> choose_parts("blend", ["genre", "chart"], collab=False, playlists=12, sessions=0, sound=True)
    ['playlist', 'chart']
    >>> choose_parts("sound", ["genre"], collab=False, playlists=0, sessions=0, sound=True)
    ['audio', 'genre']
    """
    parts = [p for p, ok in (("collab", collab), ("playlist", playlists > 0), ("session", sessions > 0)) if ok]
    if "chart" in telling:
        parts.append("chart")
    if sound and ("audio" in telling or mode == "sound"):
        parts.append("audio")
    if "genre" in telling and len(parts) < 2:
        parts.append("genre")
    return parts[:most]


def reason_rows(ranking: Ranking, feats: np.ndarray, sig: Signals, weights: Weights) -> Iterator[dict[str, Any]]:
    """``RelatedStore.write_generation`` rows, each with a ``v`` 2 reason: the parts that carried the score
    (:func:`sori.related.reasons.telling_parts`) and the facts behind them."""
    n, k = ranking.idx.shape
    rows = np.repeat(np.arange(n), k)
    cols = ranking.idx.ravel()
    ok = cols >= 0
    rows, cols = rows[ok], cols[ok]
    ranks = np.tile(np.arange(1, k + 1), n)[ok]
    x = feats.reshape(-1, len(FEATURES))[ok]
    scores = ranking.score.ravel()[ok]
    coll = sig.has_collection()
    counts = {kind: sig.sources[kind].shared_count(rows, cols) for kind in ("playlist", "session")}
    collabs = sig.sources["collab"].shared(rows, cols, n=MAX_SHARED)
    charts = sig.sources["chart"].shared(rows, cols, n=12)
    genres = sig.genre.shared(rows, cols, n=2)
    pa, pb = sig.prow[rows], sig.prow[cols]
    feat_names: list[list[str]] = [[] for _ in range(len(rows))]
    have = np.flatnonzero((pa >= 0) & (pb >= 0))
    for i, names in zip(have.tolist(), closest_features(sig.audio.profiles, pa[have], pb[have], n=2),
                        strict=True):
        feat_names[i] = names
    ids = sig.artist_ids
    for i in range(len(rows)):
        mode = "blend" if coll[rows[i]] else "sound"
        parts = choose_parts(mode, telling_parts(_contributions(weights, bool(coll[rows[i]]), x[i])),
                             collab=bool(collabs[i]), playlists=int(counts["playlist"][i]),
                             sessions=int(counts["session"][i]), sound=bool(feat_names[i]))
        reason: dict[str, Any] = {"v": 2, "mode": mode, "parts": parts}
        for kind in ("playlist", "session"):
            if counts[kind][i]:
                reason[kind + "s"] = int(counts[kind][i])
        if collabs[i]:
            reason["collab"] = [c["name"] for c in collabs[i]]
        if "chart" in parts and charts[i]:
            reason["charts"] = list(dict.fromkeys(_DATE.sub("", str(c["name"])) for c in charts[i]))
        if genres[i]:
            reason["genres"] = [g["name"] for g in genres[i]]
        if feat_names[i]:
            reason["features"] = feat_names[i]
        yield {"artist_id": ids[rows[i]], "related_id": ids[cols[i]], "rank": int(ranks[i]),
               "score": round(float(scores[i]), 6), "reason": reason}


MAX_SHARED = 3


def build_served(tracks: pd.DataFrame, members: pd.DataFrame, genres: pd.DataFrame | None, *,
                 k: int = 10, score: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows to publish, summary): weights learned on a held-out fold of the lake's own listener-made
    collections, signals over all of them; ``score`` adds the held-out listener-judgment p@k / nDCG@k of
    this very recipe (:func:`sori.related.listeners.evaluate_blend`, blend only)."""
    t0 = time.perf_counter()
    audio = build_audio(tracks)
    universe = universe_of(tracks, members)
    weights = learn_weights(members, audio, genres, universe)
    sig = build_signals(members, audio, genres, universe)
    ranking, feats = rank_blend(sig, weights, k=k)
    rows = list(reason_rows(ranking, feats, sig, weights))
    t1 = time.perf_counter()
    kinds = {kind: len(sig.sources[kind].collection_ids) for kind in SOURCES}
    kinds["genre"] = len(sig.genre.collection_ids)
    coll = sig.has_collection()
    summary = {"artists": len(universe), "profiled": len(audio.profiles), "collections": kinds,
               "missing_sources": missing_sources(kinds),
               "modes": {"blend": int(coll.sum()), "sound": int((~coll).sum())},
               "weights": weights.as_dict(), "fit": weights.info, "seconds_rank": round(t1 - t0, 2)}
    if score:
        ev = evaluate_blend(tracks, members, genres, k=k, audio=audio, singles=False)
        summary["listener_judgments"] = {key: ev.get(key) for key in ("blend", "ndcg_blend", "seeds",
                                                                       "held_out_collections")}
        summary["seconds_score"] = round(time.perf_counter() - t1, 2)
    return rows, summary
