"""Ranking: audio-only and hybrid (co-occurrence + audio) related artists, and the rows RDS stores.

Audio similarity of two artists is ``1 / (1 + d / tau)``: ``d`` their profile distance, ``tau`` the median
distance of an artist to its k-th audio neighbour (so 0.5 means "as close as a typical 10th neighbour").
Co-occurrence similarity is the cosine from :mod:`sori.related.cooccurrence` (0..1).

    hybrid = w * cooc + (1 - w) * audio        w = settings.related_weight_cooc

over the candidates of each artist: its exact top ``candidates`` audio neighbours ∪ its top ``candidates``
co-occurring artists. Artists that share no collection with anyone are ranked by audio alone, and artists
without an audio profile (no features yet) by co-occurrence alone.

>>> import numpy as np, pandas as pd
>>> from sori.related.profiles import Profiles
>>> from sori.related.cooccurrence import build_cooccurrence
>>> ids = np.array(["a", "b", "c", "d"], dtype=object)
>>> prof = Profiles(ids, np.array([[0.], [1.], [5.], [6.]], np.float32), np.ones(4, int), ("energy",), np.zeros((4, 1)))
>>> m = pd.DataFrame({"kind": "playlist", "collection_id": "p", "artist_id": ["a", "d"], "collection_name": "P"})
>>> r = rank_related(prof, build_cooccurrence(m, ids), k=2, weight=0.7)
>>> r.idx[0].tolist(), r.idx[1].tolist()
([3, 1], [0, 2])
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sori.related.cooccurrence import Cooccurrence, top_k_per_row
from sori.related.neighbours import exact_knn
from sori.related.profiles import FEATURE_LABELS, Profiles, closest_features

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Ranking:
    """Row ``i``: artist ``artist_ids[i]``'s related artists (indices into ``artist_ids``, -1 pads), best first."""

    artist_ids: np.ndarray
    idx: np.ndarray  # int64 (n, k)
    score: np.ndarray  # float64 (n, k)
    audio: np.ndarray  # float64 (n, k) audio similarity (nan when either has no profile)
    cooc: np.ndarray  # float64 (n, k) co-occurrence similarity
    mode: str  # "audio" | "hybrid"


def audio_similarity(dist: np.ndarray, tau: float) -> np.ndarray:
    return 1.0 / (1.0 + np.asarray(dist, dtype=float) / max(tau, 1e-9))


def _tau(knn_dist: np.ndarray) -> float:
    last = knn_dist[:, -1]
    last = last[np.isfinite(last)]
    return float(np.median(last)) if last.size else 1.0


def align(profiles: Profiles, artist_ids: np.ndarray) -> np.ndarray:
    """Index of each of ``artist_ids`` in ``profiles`` (-1 when it has no profile)."""
    pos = profiles.index()
    return np.array([pos.get(a, -1) for a in artist_ids.tolist()], dtype=np.int64)


def rank_audio(profiles: Profiles, k: int = 10) -> Ranking:
    """Exact audio-only top-k over the profiled artists."""
    nb = exact_knn(profiles.matrix, k)
    sim = np.where(nb.idx >= 0, audio_similarity(nb.dist, _tau(nb.dist)), 0.0)
    return Ranking(profiles.artist_ids, nb.idx, sim, sim, np.zeros_like(sim), "audio")


def rank_related(profiles: Profiles, cooc: Cooccurrence, *, k: int = 10, weight: float = 0.7,
                 candidates: int = 50) -> Ranking:
    """Hybrid top-k over ``cooc.artist_ids`` (the union of profiled and co-occurring artists)."""
    ids = cooc.artist_ids
    n = len(ids)
    prow = align(profiles, ids)  # profile row of each artist, -1 if none
    c = max(k, candidates)
    # audio candidates: exact neighbours among profiled artists, mapped into the union's index space
    a_rows = a_cols = np.zeros(0, np.int64)
    tau = 1.0
    if len(profiles) > 1:
        nb = exact_knn(profiles.matrix, min(c, len(profiles) - 1))
        tau = _tau(nb.dist[:, :k])
        union_of_prof = np.full(len(profiles), -1, np.int64)
        union_of_prof[prow[prow >= 0]] = np.flatnonzero(prow >= 0)
        a_rows = np.repeat(np.flatnonzero(prow >= 0), nb.k)
        a_cols = nb.idx[prow[prow >= 0]].ravel()
        ok = a_cols >= 0
        a_rows, a_cols = a_rows[ok], union_of_prof[a_cols[ok]]
    # co-occurrence candidates
    cidx, _ = cooc.top_k(c)
    c_rows = np.repeat(np.arange(n), c)
    c_cols = cidx.ravel()
    ok = c_cols >= 0
    rows = np.concatenate([a_rows, c_rows[ok]])
    cols = np.concatenate([a_cols, c_cols[ok]])
    pair = np.unique(rows * n + cols)
    rows, cols = pair // n, pair % n
    # scores of every candidate pair
    audio = np.full(len(rows), np.nan)
    both = (prow[rows] >= 0) & (prow[cols] >= 0)
    d = np.linalg.norm(profiles.matrix[prow[rows[both]]] - profiles.matrix[prow[cols[both]]], axis=1)
    audio[both] = audio_similarity(d, tau)
    cs = cooc.similarity(rows, cols)
    has_cooc = cooc.has_any[rows]
    has_audio = prow[rows] >= 0
    w = np.where(has_cooc & has_audio, weight, np.where(has_cooc, 1.0, 0.0))
    score = w * cs + (1 - w) * np.nan_to_num(audio, nan=0.0)
    idx, top = top_k_per_row(rows, cols, score, n, k)
    return Ranking(ids, idx, top, _lookup(rows, cols, audio, idx, n), _lookup(rows, cols, cs, idx, n), "hybrid")


def _lookup(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    """Values of the pairs (i, idx[i, j]) from candidate pairs sorted by ``row * n + col`` (nan if absent)."""
    keys = rows * n + cols
    want = np.repeat(np.arange(idx.shape[0]), idx.shape[1]) * n + idx.ravel()
    out = np.full(want.shape, np.nan)
    if len(keys):
        pos = np.clip(np.searchsorted(keys, want), 0, len(keys) - 1)
        hit = (idx.ravel() >= 0) & (keys[pos] == want)
        out[hit] = vals[pos[hit]]
    return out.reshape(idx.shape)


def related_rows(ranking: Ranking, profiles: Profiles, cooc: Cooccurrence | None = None) -> Iterator[dict[str, Any]]:
    """``RelatedStore.write_generation`` rows with a ``reason`` each: the collections both are in (rarest
    first, with the count), the profile features on which they are closest, and the two similarity parts."""
    n, k = ranking.idx.shape
    rows = np.repeat(np.arange(n), k)
    cols = ranking.idx.ravel()
    ok = cols >= 0
    rows, cols = rows[ok], cols[ok]
    ranks = (np.tile(np.arange(1, k + 1), n))[ok]
    scores, audio, co = ranking.score.ravel()[ok], ranking.audio.ravel()[ok], ranking.cooc.ravel()[ok]
    ids = ranking.artist_ids
    prow = align(profiles, ids)
    pa, pb = prow[rows], prow[cols]
    feats: list[list[str]] = [[] for _ in range(len(rows))]
    have = np.flatnonzero((pa >= 0) & (pb >= 0))
    for i, names in zip(have.tolist(), closest_features(profiles, pa[have], pb[have]), strict=True):
        feats[i] = names
    shared = cooc.shared(rows, cols) if cooc is not None else [[] for _ in rows]
    counts = cooc.shared_count(rows, cols) if cooc is not None else np.zeros(len(rows), int)
    for i in range(len(rows)):
        reason: dict[str, Any] = {"mode": ranking.mode}
        if counts[i]:
            reason["shared"] = shared[i]
            reason["shared_count"] = int(counts[i])
        if feats[i]:
            reason["features"] = feats[i]
            reason["feature_labels"] = [FEATURE_LABELS.get(f, f) for f in feats[i]]
        if np.isfinite(audio[i]):
            reason["audio"] = round(float(audio[i]), 4)
        if np.isfinite(co[i]) and co[i] > 0:
            reason["cooc"] = round(float(co[i]), 4)
        yield {"artist_id": ids[rows[i]], "related_id": ids[cols[i]], "rank": int(ranks[i]),
               "score": round(float(scores[i]), 6), "reason": reason}


def compute_related(tracks: pd.DataFrame, members: pd.DataFrame, *, k: int = 10, weight: float = 0.7,
                    candidates: int = 50) -> tuple[Ranking, Profiles, Cooccurrence]:
    """Lake frames → hybrid ranking over every artist with a profile or a shared collection."""
    from sori.related.cooccurrence import build_cooccurrence
    from sori.related.profiles import build_profiles

    profiles = build_profiles(tracks)
    universe = np.unique(np.concatenate([profiles.artist_ids.astype(str),
                                         members["artist_id"].dropna().astype(str).to_numpy()]))
    cooc = build_cooccurrence(members, universe.astype(object))
    return rank_related(profiles, cooc, k=k, weight=weight, candidates=candidates), profiles, cooc
