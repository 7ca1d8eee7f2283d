"""Quality on listener judgments: do the related artists turn up together in collections listeners made?

A share of the listener-made collections (``playlist`` by playlist id, ``session`` by session id) is held out
whole (:func:`sori.related.blend.hold_out`, its own salt). Everything is built from the rest — including the
blend's weights, which are fitted on a further split of the rest only. For a seed artist, the judged-relevant
artists are those sharing a held-out collection with it, each with gain Σ ``log(1 + N / size)`` over those
collections (rarer collections count more). Scored over seeds with at least one relevant artist:

- ``p@k``: share of the k served artists that are relevant;
- ``nDCG@k``: DCG of the served gains over the ideal ordering of the seed's gains.

Figures: ``random``, ``audio``, each source alone (``sources``), the ``blend``, ``ndcg_blend``, the blend
without genres (``blend_no_genre``: the catalog's genres are derived from playlist labels), by popularity
decile, and genre agreement as a labelled diagnostic only.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sori.related.blend import (
    FEATURES,
    SOURCES,
    Audio,
    Weights,
    build_audio,
    build_signals,
    hold_out,
    judgments,
    learn_weights,
    rank_audio_in,
    rank_blend,
    rank_single,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

EVAL_SALT = "sori-listeners"
EVAL_SHARE = 0.25


def precision(idx: np.ndarray, gains: Any, rows: np.ndarray, k: int = 10) -> float:
    """Mean share of the first ``k`` of ``idx[rows]`` with a positive gain (-1 pads are misses)."""
    if rows.size == 0:
        return float("nan")
    nb = idx[rows, :k]
    ok = nb >= 0
    g = np.zeros(nb.shape)
    r = np.repeat(rows, nb.shape[1]).reshape(nb.shape)
    g[ok] = np.asarray(gains[r[ok], nb[ok]]).ravel()
    return float((g > 0).sum() / (rows.size * k))


def ndcg(idx: np.ndarray, gains: Any, rows: np.ndarray, k: int = 10) -> float:
    """Mean nDCG@k of ``idx[rows]`` against ``gains`` (graded: the held-out gain of each pair)."""
    if rows.size == 0:
        return float("nan")
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    nb = idx[rows, :k]
    ok = nb >= 0
    g = np.zeros(nb.shape)
    r = np.repeat(rows, nb.shape[1]).reshape(nb.shape)
    g[ok] = np.asarray(gains[r[ok], nb[ok]]).ravel()
    dcg = (g * disc[:nb.shape[1]]).sum(1)
    ideal = np.zeros(rows.size)
    for i, row in enumerate(rows.tolist()):
        best = np.sort(gains.getrow(row).data)[::-1][:k]
        ideal[i] = (best * disc[:best.size]).sum()
    return float(np.mean(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1), 0.0)))


def random_ranking(n: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.integers(0, max(n - 1, 1), size=(n, k))
    return out + (out >= np.arange(n)[:, None])


def genre_agreement(idx: np.ndarray, labels: Mapping[str, str], artist_ids: np.ndarray, k: int = 10) -> float:
    """Diagnostic only: share of served artists whose majority playlist genre equals the seed's."""
    lab = np.array([labels.get(a) for a in artist_ids.tolist()], dtype=object)
    rows = np.flatnonzero(lab != None)  # noqa: E711
    nb = idx[rows, :k]
    ok = nb >= 0
    match = np.zeros(nb.shape, bool)
    match[ok] = lab[nb[ok]] == np.repeat(lab[rows], nb.shape[1]).reshape(nb.shape)[ok]
    return float(match.mean()) if rows.size else float("nan")


def universe_of(tracks: pd.DataFrame, members: pd.DataFrame) -> np.ndarray:
    """Every artist with a track row or a collection membership, sorted."""
    ids = np.concatenate([tracks["artist_id"].dropna().astype(str).to_numpy(),
                          members["artist_id"].dropna().astype(str).to_numpy()])
    return np.unique(ids).astype(object)


def evaluate_blend(tracks: pd.DataFrame, members: pd.DataFrame, genres: pd.DataFrame | None, *,
                   k: int = 10, share: float = EVAL_SHARE, audio: Audio | None = None,
                   singles: bool = True, popularity: Mapping[str, float] | None = None,
                   labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The figures of the module docstring as a dict (``singles=False``: the blend only, as the builder
    reports it)."""
    universe = universe_of(tracks, members)
    audio = audio or build_audio(tracks)
    train, test = hold_out(members, share, EVAL_SALT)
    sig = build_signals(train, audio, genres, universe)
    gains = judgments(test, sig.artist_ids)
    seeds = np.flatnonzero(np.asarray(gains.getnnz(axis=1) > 0))
    weights = learn_weights(train, audio, genres, universe)
    ranking, _ = rank_blend(sig, weights, k=k)
    out: dict[str, Any] = {"k": k, "artists": len(universe), "seeds": int(seeds.size),
                 "held_out_collections": int(test.drop_duplicates(["kind", "collection_id"]).shape[0]),
                 "blend": precision(ranking.idx, gains, seeds, k), "ndcg_blend": ndcg(ranking.idx, gains, seeds, k),
                 "weights": weights.as_dict()}
    if not singles:
        rounded: dict[str, Any] = _rounded(out)
        return rounded
    out["random"] = precision(random_ranking(len(universe), k), gains, seeds, k)
    out["audio"] = precision(rank_audio_in(sig, k), gains, seeds, k)
    out["sources"] = {kind: precision(rank_single(sig.sources[kind], k), gains, seeds, k) for kind in SOURCES}
    out["genre"] = precision(rank_single(sig.genre, k), gains, seeds, k)
    best = max(v for v in out["sources"].values() if np.isfinite(v))
    out["blend_over_best_source"] = out["blend"] / best if best > 0 else float("nan")
    ng = learn_weights(train, audio, genres, universe, drop=("genre",))
    out["blend_no_genre"] = precision(rank_blend(sig, ng, k=k, drop=("genre",))[0].idx, gains, seeds, k)
    no_coll = ~sig.has_collection()
    sound_seeds = seeds[no_coll[seeds]]
    out["blend_no_collection_seeds"] = {"seeds": int(sound_seeds.size),
                                        "blend": precision(ranking.idx, gains, sound_seeds, k),
                                        "audio": precision(rank_audio_in(sig, k), gains, sound_seeds, k)}
    if popularity:
        out["by_popularity_decile"] = by_decile(ranking.idx, gains, seeds, sig.artist_ids, popularity, k)
    if labels:
        out["diagnostic_genre_agreement"] = {
            "blend": genre_agreement(ranking.idx, labels, sig.artist_ids, k),
            "audio": genre_agreement(rank_audio_in(sig, k), labels, sig.artist_ids, k)}
    result: dict[str, Any] = _rounded(out)
    return result


def by_decile(idx: np.ndarray, gains: Any, seeds: np.ndarray, artist_ids: np.ndarray,
              popularity: Mapping[str, float], k: int = 10) -> list[dict[str, Any]]:
    """Blend p@k per popularity decile of the seed (decile 1: least popular)."""
    pop = np.array([float(popularity.get(a, np.nan)) for a in artist_ids[seeds].tolist()])
    ok = np.isfinite(pop)
    if not ok.any():
        return []
    edges = np.quantile(pop[ok], np.linspace(0, 1, 11))
    dec = np.clip(np.searchsorted(edges, pop, side="right"), 1, 10)
    out: list[dict[str, Any]] = []
    for d in range(1, 11):
        rows = seeds[ok & (dec == d)]
        out.append({"decile": d, "seeds": int(rows.size), "p": round(precision(idx, gains, rows, k), 4)
                    if rows.size else None})
    return out


def _rounded(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _rounded(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_rounded(v) for v in d]
    if isinstance(d, float):
        return round(d, 4)
    return d


__all__ = ["FEATURES", "Sequence", "Weights", "evaluate_blend", "judgments", "ndcg", "precision"]
