"""Quality of related-artist lists: genre agreement p@k against a label that is never an input.

The label of an artist is the majority ``playlist_genre`` over its tracks' playlist memberships (ties broken
alphabetically). p@k is the share of an artist's k related artists whose label equals its own, averaged over
artists. Figures, all in one run over the same artists:

- ``random``: k artists drawn uniformly (the floor, ≈ the label's collision rate);
- ``classic``: 6 features, top-3 tracks, min-max over tracks, mean, Euclidean (earlier systems);
- ``audio``: our profiles (``profiles.build_profiles``) and exact Euclidean neighbours;
- ``hybrid``: co-occurrence from a **held-out half** of the playlists (split by a hash of the playlist id) +
  audio; the label still counts every playlist. Playlist membership is the same data the label is computed
  from, so co-occurrence over *all* playlists is leaky: ``hybrid_all_playlists`` reports it for reference, and
  ``hybrid_disjoint`` is the strict variant (co-occurrence from one half, label from the other half only,
  over artists present in both halves).

Everything here is pure: the caller supplies the frames (from the catalog or from the lake).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from sori.related.cooccurrence import build_cooccurrence
from sori.related.hybrid import rank_audio, rank_related
from sori.related.neighbours import exact_knn
from sori.related.profiles import build_profiles, classic_profiles

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def majority_labels(genre_rows: pd.DataFrame) -> dict[str, str]:
    """``{artist_id: label}`` from rows (artist_id, genre), one per membership; ties → alphabetically first."""
    counts = genre_rows.groupby(["artist_id", "genre"]).size().reset_index(name="n")
    counts = counts.sort_values(["artist_id", "n", "genre"], ascending=[True, False, True], kind="stable")
    first = counts.drop_duplicates("artist_id")
    return dict(zip(first["artist_id"], first["genre"], strict=True))


def precision_at_k(artist_ids: np.ndarray, idx: np.ndarray, labels: Mapping[str, str], k: int = 10,
                   among: Iterable[str] | None = None) -> float:
    """Mean share of each labelled artist's first ``k`` related artists that carry its label.

    ``among`` restricts which artists are scored (default: every labelled one). -1 pads count as misses.
    """
    lab = np.array([labels.get(a) for a in artist_ids.tolist()], dtype=object)
    scored = np.array([x is not None for x in lab])
    if among is not None:
        keep = set(among)
        scored &= np.array([a in keep for a in artist_ids.tolist()])
    rows = np.flatnonzero(scored)
    if rows.size == 0:
        return float("nan")
    nb = idx[rows, :k]
    valid = nb >= 0
    match = np.zeros(nb.shape, dtype=bool)
    match[valid] = lab[nb[valid]] == np.repeat(lab[rows], k).reshape(nb.shape)[valid]
    return float(match.mean())


def random_idx(n: int, k: int, seed: int = 0) -> np.ndarray:
    """``k`` distinct random other artists per row."""
    rng = np.random.default_rng(seed)
    k = min(k, max(n - 1, 0))
    out = np.array([rng.choice(n - 1, size=k, replace=False) for _ in range(n)], dtype=np.int64).reshape(n, k)
    return out + (out >= np.arange(n)[:, None])  # shift past self


def half_of(collection_id: str, salt: str = "sori-eval") -> int:
    """Deterministic 0/1 split of collections (sha1 of the id), independent of any label."""
    return hashlib.sha1((salt + ":" + str(collection_id)).encode()).digest()[0] & 1


def evaluate(tracks: pd.DataFrame, members: pd.DataFrame, genre_rows: pd.DataFrame, *, k: int = 10,
             weight: float = 0.7, seed: int = 0) -> dict[str, Any]:
    """The quality figures (module docstring) as a dict.

    ``tracks``: per (artist, track) features (the shape of ``related_track_features.sql``); ``members``: the
    shape of ``related_collections.sql``; ``genre_rows``: (artist_id, collection_id, genre) label memberships.
    """
    labels = majority_labels(genre_rows)
    prof = build_profiles(tracks)
    ids = prof.artist_ids
    out: dict[str, Any] = {"k": k, "artists": len(ids), "weight_cooc": weight}
    out["random"] = precision_at_k(ids, random_idx(len(ids), k, seed), labels, k)
    classic = classic_profiles(tracks)
    out["classic"] = precision_at_k(classic.artist_ids, exact_knn(classic.matrix, k).idx, labels, k)
    out["audio"] = precision_at_k(ids, rank_audio(prof, k).idx, labels, k)

    members = members[members["artist_id"].isin(set(ids.tolist()))]
    half = members["collection_id"].map(half_of)
    for name, part in (("hybrid", members[half == 0]), ("hybrid_all_playlists", members)):
        cooc = build_cooccurrence(part, ids)
        out[name] = precision_at_k(ids, rank_related(prof, cooc, k=k, weight=weight).idx, labels, k)
        out[name + "_artists_with_cooc"] = int(cooc.has_any.sum())
    # strict: co-occurrence from half 0, label from half 1 only, scored over artists labelled in both halves
    g_half = genre_rows["collection_id"].map(half_of)
    labels_1 = majority_labels(genre_rows[g_half == 1])
    in_0 = set(genre_rows.loc[g_half == 0, "artist_id"])
    scored = [a for a in ids.tolist() if a in labels_1 and a in in_0]
    cooc0 = build_cooccurrence(members[half == 0], ids)
    out["hybrid_disjoint"] = precision_at_k(ids, rank_related(prof, cooc0, k=k, weight=weight).idx, labels_1,
                                            k, among=scored)
    out["audio_disjoint"] = precision_at_k(ids, rank_audio(prof, k).idx, labels_1, k, among=scored)
    out["disjoint_artists"] = len(scored)
    return {key: (round(v, 4) if isinstance(v, float) else v) for key, v in out.items()}
