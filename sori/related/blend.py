"""The learned blend: every "people put these together" source, audio and genres, weighted by what predicts
listeners.

Signals over one artist universe (each a score in 0..1 for a pair of artists):

- ``playlist``, ``collab``, ``chart``, ``session``: the cosine of :mod:`sori.related.cooccurrence` over one
  collection kind each. ``collab`` collections are tracks credited to several artists; ``chart`` collections
  are chart-weeks of one country, so an artist's row is its country × week chart fingerprint;
- ``audio``: ``1 / (1 + d / tau)`` of the profile distance (:mod:`sori.related.profiles`);
- ``genre``: the same cosine over the artists' genre labels (one collection per genre);
- ``prior``: how many listener-made collections the *candidate* is in (log-scaled to 0..1): the chance that
  any listener puts it next to anything.

Candidates of an artist are the union of each signal's top ``candidates``. The score of a pair is
``w · features`` with ``w`` fitted by class-balanced logistic regression (numpy Newton steps, L2) on a
**training split**: listener-made collections (``playlist``, ``session``) in one hash fold are held out, the
signals are built from everything else, and a pair is positive when the two artists share a held-out
collection (rarer collections weigh more). Nothing is set by hand; :func:`learn_weights` returns what it
measured.

>>> import numpy as np
>>> X = np.array([[0.9, 0.], [0.8, 0.1], [0.1, 0.9], [0., 0.8]]); y = np.array([1., 1., 0., 0.])
>>> w = fit_logistic(X, y)
>>> bool(w[0] > 0 > w[1])
True
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sori.related.cooccurrence import Cooccurrence, build_cooccurrence, top_k_per_row
from sori.related.hybrid import Ranking, _tau, align, audio_similarity
from sori.related.neighbours import Neighbours, exact_knn
from sori.related.profiles import Profiles, build_profiles

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SOURCES: tuple[str, ...] = ("playlist", "collab", "chart", "session")
LISTENER_KINDS: tuple[str, ...] = ("playlist", "session")
FEATURES: tuple[str, ...] = (*SOURCES, "audio", "genre", "prior")
#: What an artist with no shared playlist, chart or session is matched by. No ``prior``: that such an artist's
#: neighbours in held-out playlists are as collection-less as itself is an artefact of the split, not taste.
SOUND_FEATURES: tuple[str, ...] = ("collab", "audio", "genre")


def bucket(collection_id: str, salt: str) -> float:
    """Deterministic position in [0, 1) of a collection (sha1 of salt + id), independent of any content."""
    d = hashlib.sha1((salt + ":" + str(collection_id)).encode()).digest()
    return int.from_bytes(d[:4], "big") / 2.0 ** 32


def hold_out(members: pd.DataFrame, share: float, salt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, held out): listener-made collections whose bucket is below ``share`` are held out, whole."""
    listener = members["kind"].isin(LISTENER_KINDS)
    pos = members["collection_id"].astype(str).map(lambda c: bucket(c, salt))
    held = listener & (pos < share)
    return members[~held], members[held]


def genre_members(genres: pd.DataFrame | None) -> pd.DataFrame:
    """Artist genre labels (rows artist_id, genre) as collections of kind ``genre``."""
    import pandas as pd

    if genres is None or len(genres) == 0:
        return pd.DataFrame(columns=["kind", "collection_id", "artist_id", "collection_name"])
    g = genres.dropna(subset=["genre"])
    return pd.DataFrame({"kind": "genre", "collection_id": g["genre"].astype(str).to_numpy(),
                         "artist_id": g["artist_id"].astype(str).to_numpy(),
                         "collection_name": g["genre"].astype(str).to_numpy()})


@dataclass(frozen=True)
class Audio:
    """Audio profiles and their exact neighbours (independent of any collection split, so built once)."""

    profiles: Profiles
    nb: Neighbours
    tau: float


def build_audio(tracks: pd.DataFrame, candidates: int = 50, k: int = 10) -> Audio:
    """Profiles of ``tracks`` and each artist's exact top ``candidates`` audio neighbours."""
    prof = build_profiles(tracks)
    if len(prof) < 2:
        empty = Neighbours(np.full((len(prof), 0), -1, np.int64), np.zeros((len(prof), 0), np.float32))
        return Audio(prof, empty, 1.0)
    nb = exact_knn(prof.matrix, min(candidates, len(prof) - 1))
    return Audio(prof, nb, _tau(nb.dist[:, :k]))


@dataclass(frozen=True)
class Signals:
    """Everything the blend reads, over ``artist_ids`` (row i of every part is artist i)."""

    artist_ids: np.ndarray
    audio: Audio
    prow: np.ndarray  # profile row of each artist (-1: none)
    sources: dict[str, Any]  # kind -> Cooccurrence
    genre: Cooccurrence
    prior: np.ndarray  # float (n,)

    def has_collection(self) -> np.ndarray:
        """Artists in at least one shared playlist, chart or session (collabs alone do not count)."""
        out = np.zeros(len(self.artist_ids), bool)
        for kind in ("playlist", "chart", "session"):
            out |= self.sources[kind].has_any
        return out

    def audio_sim(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Audio similarity of the pairs (nan where either artist has no profile)."""
        out = np.full(len(rows), np.nan)
        pa, pb = self.prow[rows], self.prow[cols]
        ok = (pa >= 0) & (pb >= 0)
        m = self.audio.profiles.matrix
        out[ok] = audio_similarity(np.linalg.norm(m[pa[ok]] - m[pb[ok]], axis=1), self.audio.tau)
        return out


def build_signals(members: pd.DataFrame, audio: Audio, genres: pd.DataFrame | None,
                  universe: Sequence[str] | np.ndarray) -> Signals:
    """The signals of the module docstring from collection members (kind, collection_id, artist_id, …)."""
    ids = np.asarray(list(universe), dtype=object)
    sources = {kind: build_cooccurrence(members, ids, kinds=[kind]) for kind in SOURCES}
    genre = build_cooccurrence(genre_members(genres), ids)
    counts = np.zeros(len(ids))
    for kind in LISTENER_KINDS:
        counts += np.asarray(sources[kind].binary.sum(axis=1)).ravel()
    prior = np.log1p(counts)
    prior = prior / prior.max() if prior.max() > 0 else prior
    return Signals(ids, audio, align(audio.profiles, ids), sources, genre, prior)


def candidate_pairs(sig: Signals, candidates: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Unique (row, col) pairs: each artist's top ``candidates`` by every signal (audio, genre, sources)."""
    n = len(sig.artist_ids)
    rows, cols = [], []
    for co in [*list(sig.sources.values()), sig.genre]:
        if co.matrix.nnz == 0:
            continue
        idx, _ = co.top_k(candidates)
        r = np.repeat(np.arange(n), idx.shape[1])
        c = idx.ravel()
        rows.append(r[c >= 0])
        cols.append(c[c >= 0])
    nb = sig.audio.nb
    if nb.idx.size:
        union_of_prof = np.full(len(sig.audio.profiles), -1, np.int64)
        have = np.flatnonzero(sig.prow >= 0)
        union_of_prof[sig.prow[have]] = have
        r = np.repeat(have, nb.k)
        c = nb.idx[sig.prow[have]].ravel()
        ok = c >= 0
        c = union_of_prof[c[ok]]
        r = r[ok]
        rows.append(r[c >= 0])
        cols.append(c[c >= 0])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = np.unique(np.concatenate(rows) * n + np.concatenate(cols))
    r, c = key // n, key % n
    keep = r != c
    return r[keep], c[keep]


def features(sig: Signals, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(len(rows), len(FEATURES)) float32 in ``FEATURES`` order; a missing audio profile counts 0."""
    out = np.zeros((len(rows), len(FEATURES)), np.float32)
    for j, kind in enumerate(SOURCES):
        out[:, j] = sig.sources[kind].similarity(rows, cols)
    out[:, FEATURES.index("audio")] = np.nan_to_num(sig.audio_sim(rows, cols), nan=0.0)
    out[:, FEATURES.index("genre")] = sig.genre.similarity(rows, cols)
    out[:, FEATURES.index("prior")] = sig.prior[cols]
    return out


def fit_logistic(X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None, *, l2: float = 1e-2,
                 iters: int = 25) -> np.ndarray:
    """Class-balanced L2 logistic regression by Newton steps; returns ``[w_1 … w_F, bias]``."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    pos = y > 0
    if pos.any() and (~pos).any():  # balance: both classes carry the same total weight
        sw = np.where(pos, sw / sw[pos].sum(), sw / sw[~pos].sum()) * len(y) / 2
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    reg = np.full(Xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(Xb @ w, -30, 30)))
        grad = Xb.T @ (sw * (p - y)) / len(y) + reg * w
        h = (Xb * (sw * p * (1 - p))[:, None]).T @ Xb / len(y) + np.diag(reg + 1e-9)
        step = np.linalg.solve(h, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def judgments(held: pd.DataFrame, artist_ids: Sequence[str] | np.ndarray) -> Any:
    """Listener judgments from held-out collections, a scipy csr (n, n): gain[i, j] = Σ over held-out
    collections holding both artists of ``log(1 + N / size)`` (N: the universe's artists), diagonal cleared."""
    import scipy.sparse as sp

    co = build_cooccurrence(held, artist_ids, min_size=2)
    g = (co.binary @ sp.diags(co.weights) @ co.binary.T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    return g


def _pair_gain(gains: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if len(rows) == 0:
        return np.zeros(0)
    return np.asarray(gains[rows, cols]).ravel()


@dataclass(frozen=True)
class Weights:
    """Fitted blend weights (``FEATURES`` order) and bias, with how they were measured. ``sound`` is the set
    fitted on seeds with no shared playlist, chart or session (matched by sound, genres and collaborations)."""

    w: np.ndarray
    bias: float
    info: dict[str, Any]
    sound: np.ndarray | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {f: round(float(v), 4) for f, v in zip(FEATURES, self.w, strict=True)}
        if self.sound is not None:
            out["sound"] = {f: round(float(v), 4) for f, v in zip(FEATURES, self.sound, strict=True) if v}
        return out

    def for_rows(self, has_collection: np.ndarray) -> np.ndarray:
        """(len(rows), F): each row's weight vector by its seed's mode."""
        sound = self.w if self.sound is None else self.sound
        return np.where(has_collection[:, None], self.w[None, :], sound[None, :])


#: Fewer held-out listener collections than this teach noise (development mode holds ~15 in all): the blend
#: then uses the weights ``bench/related_quality.py --write-weights`` fitted on the catalog's collections.
MIN_HELD_OUT = 20
WEIGHTS_PATH = Path(__file__).resolve().parent.parent / "data" / "related_weights.json"


def shipped_weights(path: Path = WEIGHTS_PATH) -> Weights:
    """The weights fitted offline on the emulator catalog's listener collections (see :data:`MIN_HELD_OUT`)."""
    data = json.loads(path.read_text())
    w = np.array([float(data["weights"].get(f, 0.0)) for f in FEATURES])
    sound = np.array([float(data["sound"].get(f, 0.0)) for f in FEATURES]) if data.get("sound") else None
    return Weights(w, 0.0, {"from": f"shipped ({data.get('fitted_on', path.name)})"}, sound)


def learn_weights(members: pd.DataFrame, audio: Audio, genres: pd.DataFrame | None,
                  universe: Sequence[str] | np.ndarray,
                  *, share: float = 0.3, salt: str = "sori-blend", candidates: int = 50,
                  drop: Sequence[str] = (), max_pairs: int = 600_000, seed: int = 0,
                  min_held_out: int = MIN_HELD_OUT) -> Weights:
    """Fit the blend on a training split of ``members`` (module docstring); ``drop`` fixes features at 0.
    With fewer than ``min_held_out`` held-out collections, the shipped weights (:func:`shipped_weights`)."""
    kept, held = hold_out(members, share, salt)
    n_held = int(held.drop_duplicates(["kind", "collection_id"]).shape[0])
    if n_held < min_held_out and WEIGHTS_PATH.exists():
        sw = shipped_weights()
        for f in drop:
            sw.w[FEATURES.index(f)] = 0.0
            if sw.sound is not None:
                sw.sound[FEATURES.index(f)] = 0.0
        return Weights(sw.w, 0.0, {**sw.info, "held_out_collections": n_held}, sw.sound)
    sig = build_signals(kept, audio, genres, universe)
    gains = judgments(held, sig.artist_ids)
    rows, cols = candidate_pairs(sig, candidates)
    seeds = np.asarray(gains.getnnz(axis=1) > 0)
    sel = seeds[rows]
    rows, cols = rows[sel], cols[sel]
    if len(rows) > max_pairs:
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), max_pairs, replace=False))
        rows, cols = rows[pick], cols[pick]
    X = features(sig, rows, cols)
    for f in drop:
        X[:, FEATURES.index(f)] = 0.0
    g = _pair_gain(gains, rows, cols)
    y = (g > 0).astype(float)
    info = {"from": "lake", "pairs": len(rows), "positives": int(y.sum()), "seeds": int(seeds.sum()),
            "held_out_collections": n_held}
    if y.sum() == 0 or y.sum() == len(y):  # nothing to learn from: audio + genres only
        base = np.zeros(len(FEATURES))
        base[FEATURES.index("audio")], base[FEATURES.index("genre")] = 1.0, 1.0
        return Weights(base, 0.0, {**info, "fallback": "no held-out pairs"})
    pair_w = np.where(y > 0, g / g[y > 0].mean(), 1.0)
    w = fit_logistic(X, y, pair_w)[:-1]
    for f in drop:
        w[FEATURES.index(f)] = 0.0
    sound, coll = None, sig.has_collection()[rows]
    if y[~coll].sum() >= 20 and (1 - y[~coll]).sum() >= 20:
        cols_sound = [FEATURES.index(f) for f in SOUND_FEATURES if f not in drop]
        fit = fit_logistic(X[~coll][:, cols_sound], y[~coll], pair_w[~coll])
        sound = np.zeros(len(FEATURES))
        sound[cols_sound] = fit[:-1]
        info["sound_pairs"] = int((~coll).sum())
    return Weights(w, 0.0, info, sound)


def rank_blend(sig: Signals, weights: Weights, *, k: int = 10, candidates: int = 50,
               drop: Sequence[str] = ()) -> tuple[Ranking, np.ndarray]:
    """Top-k by the learned score; returns (ranking, feature rows (n, k, F) of the chosen pairs)."""
    n = len(sig.artist_ids)
    rows, cols = candidate_pairs(sig, candidates)
    X = features(sig, rows, cols)
    for f in drop:
        X[:, FEATURES.index(f)] = 0.0
    score = (X.astype(np.float64) * weights.for_rows(sig.has_collection()[rows])).sum(1)
    idx, top = top_k_per_row(rows, cols, score, n, k)
    feats = np.zeros((n, k, len(FEATURES)), np.float32)
    keys = rows * n + cols  # sorted (candidate_pairs returns them sorted by row, then col)
    want = np.repeat(np.arange(n), k) * n + idx.ravel()
    pos = np.clip(np.searchsorted(keys, want), 0, max(len(keys) - 1, 0))
    hit = (idx.ravel() >= 0) & (len(keys) > 0)
    if len(keys):
        hit &= keys[pos] == want
        feats.reshape(-1, len(FEATURES))[hit] = X[pos[hit]]
    audio = np.where(idx >= 0, feats[:, :, FEATURES.index("audio")], np.nan)
    cooc = feats[:, :, FEATURES.index("playlist")].astype(float)
    return Ranking(sig.artist_ids, idx, top, audio, cooc, "blend"), feats


def rank_single(co: Cooccurrence, k: int = 10) -> np.ndarray:
    """One source alone: each artist's top-k by that source's cosine (-1 pads)."""
    return co.top_k(k)[0]


def rank_audio_in(sig: Signals, k: int = 10) -> np.ndarray:
    """Audio alone, in the universe's index space (-1 pads)."""
    n = len(sig.artist_ids)
    idx = np.full((n, k), -1, np.int64)
    nb = sig.audio.nb
    if not nb.idx.size:
        return idx
    union_of_prof = np.full(len(sig.audio.profiles), -1, np.int64)
    have = np.flatnonzero(sig.prow >= 0)
    union_of_prof[sig.prow[have]] = have
    got = nb.idx[sig.prow[have], :k]
    idx[have, :got.shape[1]] = np.where(got >= 0, union_of_prof[np.maximum(got, 0)], -1)
    return idx
