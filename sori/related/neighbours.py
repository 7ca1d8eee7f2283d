"""Nearest neighbours over artist profiles: exact top-k at catalog scale, with faiss doing the scanning.

Exact search is an inverted-file index (faiss ``IndexIVFFlat``) **certified** by the triangle inequality:

1. k-means cells over the points; for every cell its centroid ``c`` and radius ``R_c`` (farthest member).
2. Each query scans its ``nprobe`` nearest cells (ordinary IVF search) and gets k candidates whose k-th
   distance ``D_k`` bounds the true k-th distance from above.
3. A cell ``c`` can hold a point closer than ``D_k`` only if its lower bound is below it. Two bounds, the larger
   used: the ball bound ``|q - c| - R_c``, and the Voronoi bound — members of ``c`` are nearer ``c`` than the
   query's nearest centroid ``c1``, so they lie beyond the bisecting hyperplane, at distance
   ``(|q - c|^2 - |q - c1|^2) / (2 |c - c1|)`` from ``q``. When every cell below ``D_k`` was scanned the answer
   is exact; the queries for which some were not are re-scanned over exactly those cells (faiss
   ``search_preassigned``), which is exact by the same argument.

So the result equals brute force (up to the order of exact ties) while scanning a small share of the points.
Small inputs go straight to ``IndexFlatL2``. :func:`approx_knn` skips step 3 (plain IVF, recall < 1) for
when even certification is too slow; :func:`brute_knn` is the numpy reference used by tests and benchmarks.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(2000, 9))
>>> nb = exact_knn(x, 10)
>>> bool((np.sort(nb.idx, 1) == np.sort(brute_knn(x, 10).idx, 1)).all())
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: Below this many points a flat (brute force) faiss index is faster than building cells.
FLAT_MAX = 20_000
#: Up to here exact search uses scipy's k-d tree on every core (100k clustered 9-D profiles: ~2.7 s on 2 cores, about
#: three times as fast as the certified IVF there); above it, the certified IVF (a k-d tree degrades toward 1M).
KDTREE_MAX = 250_000
#: Queries per block in the certification step (block x nlist distance matrix in memory).
_BLOCK = 8192
#: Relative slack on squared distances: faiss computes in float32, so bounds are loosened, never tightened.
_EPS = 1e-4


@dataclass(frozen=True)
class Neighbours:
    """Row ``i``: the ``k`` nearest other points of query ``i``, nearest first (``idx`` -1 if fewer exist)."""

    idx: np.ndarray  # int64 (n, k)
    dist: np.ndarray  # float32 (n, k), Euclidean (not squared)

    @property
    def k(self) -> int:
        return int(self.idx.shape[1])


def _as_f32(points: npt.ArrayLike) -> np.ndarray:
    x: np.ndarray = np.ascontiguousarray(np.asarray(points, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"points must be a 2-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("points contain NaN or infinity")
    return x


def _drop_self(d2: np.ndarray, ids: np.ndarray, k: int, self_ids: np.ndarray | None) -> Neighbours:
    """From k+1 results per row, remove the query itself (or the farthest when it is not among them)."""
    n = ids.shape[0]
    if self_ids is None:
        keep = np.ones(ids.shape, dtype=bool)
        keep[:, k:] = False
    else:
        is_self = ids == self_ids[:, None]
        # rows where the query is absent (exact duplicates crowding it out): drop the last column instead
        absent = ~is_self.any(1)
        is_self[absent, -1] = True
        # if it appears more than once (cannot happen) keep only the first drop
        first = is_self.argmax(1)
        keep = np.ones(ids.shape, dtype=bool)
        keep[np.arange(n), first] = False
    idx = ids[keep].reshape(n, -1)[:, :k]
    dist = np.sqrt(np.maximum(d2[keep].reshape(n, -1)[:, :k], 0)).astype(np.float32)
    dist[idx < 0] = np.inf
    return Neighbours(idx.astype(np.int64), dist)


def _nlist_for(n: int) -> int:
    """Cells: about sqrt(n) (100k -> 316, 1M -> 1000), at least 16, at least ~64 points per cell. Measured on
    clustered 9-D profiles: fewer, larger cells keep the bound arithmetic small, and faiss scans a cell fast."""
    return int(max(16, min(np.sqrt(n), n // 64)))


class CertifiedIVF:
    """An IVF index over ``points`` answering exact k-NN queries (see the module docstring).

    >>> import numpy as np
    >>> pts = np.random.default_rng(1).normal(size=(30000, 9))
    >>> index = CertifiedIVF(pts)
    >>> nb = index.search(pts[:100], 5, self_ids=np.arange(100))
    >>> nb.idx.shape
    (100, 5)
    """

    def __init__(self, points: npt.ArrayLike, *, nlist: int | None = None, seed: int = 0,
                 train_size: int | None = None) -> None:
        import faiss

        x = _as_f32(points)
        n, d = x.shape
        self.nlist = nlist or _nlist_for(n)
        rng = np.random.default_rng(seed)
        train_size = train_size or max(100_000, 40 * self.nlist)  # faiss wants >= 39 points per centroid
        sample = x if n <= train_size else x[rng.choice(n, train_size, replace=False)]
        # faiss's SWIG annotations are the C++ signatures (out-parameters), not the numpy wrappers called here
        km: Any = faiss.Kmeans(d, self.nlist, niter=12, seed=seed, max_points_per_centroid=256, verbose=False)
        km.train(sample)
        self.centroids = km.centroids.astype(np.float32)
        self.quantizer: Any = faiss.IndexFlatL2(d)
        self.quantizer.add(self.centroids)
        self.index: Any = faiss.IndexIVFFlat(self.quantizer, d, self.nlist)
        self.index.is_trained = True
        self.index.add(x)
        self.radius2 = self._radii2(x)
        self.radius = np.sqrt(self.radius2 * (1 + _EPS)).astype(np.float32) + np.float32(1e-4)
        c64 = self.centroids.astype(np.float64)
        self.c_norm2 = (c64 ** 2).sum(1)
        self.c_dist = np.sqrt(np.maximum(self.c_norm2[:, None] + self.c_norm2[None, :] - 2 * c64 @ c64.T, 0)
                              ).astype(np.float32)

    def _radii2(self, x: np.ndarray) -> np.ndarray:
        """Squared radius of each cell, from the ids faiss actually stored in it."""
        import faiss

        inv = self.index.invlists
        labels = np.empty(x.shape[0], dtype=np.int64)
        for c in range(self.nlist):
            size = inv.list_size(c)
            if size:
                ids = faiss.rev_swig_ptr(inv.get_ids(c), size)
                labels[np.asarray(ids, dtype=np.int64)] = c
        d2 = ((x.astype(np.float64) - self.centroids[labels]) ** 2).sum(1)
        r2 = np.zeros(self.nlist)
        np.maximum.at(r2, labels, d2)
        return r2

    def search(self, queries: npt.ArrayLike, k: int, *, nprobe: int = 8, self_ids: np.ndarray | None = None,
               exact: bool = True, shortlist: int = 128) -> Neighbours:
        """k nearest points for each query; ``self_ids[i]`` (the query's own id, if it is a point) is excluded.

        Each query's ``shortlist`` nearest cells are found once (flat quantizer); the ``nprobe`` nearest are
        scanned, and certification works on the shortlist: a cell farther than ``|q - c1| + 2 sqrt(D_k)``
        cannot hold a closer point (Voronoi bound + triangle inequality), so when the shortlist reaches that
        far it holds every cell that matters. Queries whose shortlist does not are certified against all cells.
        """
        q = _as_f32(queries)
        n = q.shape[0]
        kk = k + (1 if self_ids is not None else 0)
        m = min(max(shortlist, nprobe) if exact else nprobe, self.nlist)
        nprobe = min(nprobe, m)
        d2 = np.empty((n, kk), np.float32)
        ids = np.empty((n, kk), np.int64)
        for start in range(0, n, _BLOCK):
            sl = slice(start, start + _BLOCK)
            qb = q[sl]
            cd2, cells = self.quantizer.search(qb, m)
            self.index.nprobe = nprobe
            bd2, bids = self.index.search_preassigned(qb, kk, np.ascontiguousarray(cells[:, :nprobe]),
                                                      np.ascontiguousarray(cd2[:, :nprobe]))
            if exact:
                self._certify(qb, bd2, bids, kk, cd2, cells, nprobe)
            d2[sl], ids[sl] = bd2, bids
        return _drop_self(d2, ids, k, self_ids)

    def _loose_kth(self, d2: np.ndarray, kk: int) -> np.ndarray:
        kth = d2[:, kk - 1].astype(np.float64)
        return np.sqrt(np.where(np.isfinite(kth), kth * (1 + _EPS) + _EPS, np.inf)).astype(np.float32)

    def _needed(self, q_r: np.ndarray, cd2: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Mask over ``cells`` (b, m; nearest first, so ``cells[:, 0]`` is the nearest centroid c1) of the cells
        whose lower bound does not exceed ``q_r`` (b,)."""
        r = q_r[:, None]
        need = np.sqrt(np.maximum(cd2, 0)) <= r + self.radius[cells]  # ball bound
        sep = self.c_dist[cells[:, :1], cells]
        sep = np.where(sep > 0, sep, 1.0)
        plane = cd2 - cd2[:, :1]
        need &= plane * ((1 - _EPS) / 2) <= r * sep  # Voronoi bound against the nearest centroid c1
        out: np.ndarray = need
        return out

    def _certify(self, q: np.ndarray, d2: np.ndarray, ids: np.ndarray, kk: int, cd2: np.ndarray,
                 cells: np.ndarray, nprobe: int) -> None:
        """Re-scan, in place, the queries whose k-th distance a not-scanned cell could beat."""
        r = self._loose_kth(d2, kk)
        d = np.sqrt(np.maximum(cd2, 0))
        complete = d[:, -1] * (1 - _EPS) > (d[:, 0] + 2 * r) * (1 + _EPS) + _EPS
        if cells.shape[1] >= self.nlist:
            complete[:] = True
        need = self._needed(r, cd2, cells)
        redo = np.flatnonzero(complete & need[:, nprobe:].any(1))
        self._rescan(q, redo, need[redo], cells[redo], cd2[redo], kk, d2, ids)
        rest = np.flatnonzero(~complete)
        if rest.size:  # shortlist too short for these: bounds against every cell
            qr = q[rest].astype(np.float64)
            full = (qr ** 2).sum(1)[:, None] + self.c_norm2[None, :] - 2 * qr @ self.centroids.T
            full = np.maximum(full, 0).astype(np.float32)
            order = np.argsort(full, axis=1, kind="stable")
            full = np.take_along_axis(full, order, 1)
            self._rescan(q, rest, self._needed(r[rest], full, order), order, full, kk, d2, ids)

    def _rescan(self, q: np.ndarray, rows: np.ndarray, need: np.ndarray, cells: np.ndarray, cd2: np.ndarray,
                kk: int, d2: np.ndarray, ids: np.ndarray) -> None:
        """Scan exactly the needed cells of the given query rows (faiss ``search_preassigned``), in place."""
        if rows.size == 0:
            return
        widths = need.sum(1)
        order_q = np.argsort(widths, kind="stable")
        # groups of similar width: faiss takes one nprobe per call, and -1 pads are skipped
        for grp in np.array_split(order_q, max(1, min(8, order_q.size // 256))):
            if grp.size == 0:
                continue
            g_need = need[grp]
            width = max(int(widths[grp].max()), 1)
            pick = np.argsort(~g_need, axis=1, kind="stable")[:, :width]  # needed cells first
            g_cells = np.where(np.take_along_axis(g_need, pick, 1), np.take_along_axis(cells[grp], pick, 1), -1)
            g_cd2 = np.take_along_axis(cd2[grp], pick, 1).astype(np.float32)
            self.index.nprobe = width
            rd2, rids = self.index.search_preassigned(np.ascontiguousarray(q[rows[grp]]), kk,
                                                      np.ascontiguousarray(g_cells, dtype=np.int64),
                                                      np.ascontiguousarray(g_cd2))
            d2[rows[grp]] = rd2
            ids[rows[grp]] = rids


def exact_knn(points: npt.ArrayLike, k: int = 10, *, nprobe: int = 8, seed: int = 0) -> Neighbours:
    """Exact k nearest neighbours of every point among the others (Euclidean), nearest first."""
    x = _as_f32(points)
    n = x.shape[0]
    k_eff = min(k, max(n - 1, 0))
    if k_eff == 0:
        return Neighbours(np.full((n, k), -1, np.int64), np.full((n, k), np.inf, np.float32))
    self_ids = np.arange(n)
    if n <= FLAT_MAX:
        import faiss

        flat: Any = faiss.IndexFlatL2(x.shape[1])
        flat.add(x)
        d2, ids = flat.search(x, k_eff + 1)
        nb = _drop_self(d2, ids, k_eff, self_ids)
    elif n <= KDTREE_MAX:
        nb = kdtree_knn(x, k_eff, self_ids=self_ids)
    else:
        nb = CertifiedIVF(x, seed=seed).search(x, k_eff, nprobe=nprobe, self_ids=self_ids)
    return _pad(nb, k)


def kdtree_knn(x: np.ndarray, k: int, *, self_ids: np.ndarray | None = None) -> Neighbours:
    """Exact k-NN of every row among the others with scipy's ``cKDTree`` (float64, all cores)."""
    from scipy.spatial import cKDTree

    x64 = np.asarray(x, dtype=np.float64)
    tree = cKDTree(x64, leafsize=32)
    # query in the tree's leaf order: neighbouring queries walk the same nodes, so the caches stay warm
    # (100k clustered 9-D profiles: 3.4 s -> 2.7 s on 2 cores); results are put back in row order
    order = tree.indices
    d_sorted, i_sorted = tree.query(x64[order], k + 1, workers=-1)
    dist, ids = np.empty_like(d_sorted), np.empty_like(i_sorted)
    dist[order], ids[order] = d_sorted, i_sorted
    ids = np.where(np.isinf(dist), -1, ids)
    return _drop_self(dist * dist, ids, k, self_ids)


def approx_knn(points: npt.ArrayLike, k: int = 10, *, nprobe: int = 12, nlist: int | None = None,
               seed: int = 0) -> Neighbours:
    """Approximate k-NN (plain IVF, no certification): faster, recall below 1 — measure it before use
    (``bench/related_scale.py``: 1M clustered 9-D profiles, ``nlist = 4 sqrt(n)``, ``nprobe = 12``)."""
    x = _as_f32(points)
    nlist = nlist or int(max(16, min(4 * np.sqrt(x.shape[0]), x.shape[0] // 64)))
    return CertifiedIVF(x, nlist=nlist, seed=seed).search(x, k, nprobe=nprobe, self_ids=np.arange(x.shape[0]),
                                                          exact=False)


def _pad(nb: Neighbours, k: int) -> Neighbours:
    if nb.k >= k:
        return nb
    n = nb.idx.shape[0]
    idx = np.full((n, k), -1, np.int64)
    dist = np.full((n, k), np.inf, np.float32)
    idx[:, :nb.k], dist[:, :nb.k] = nb.idx, nb.dist
    return Neighbours(idx, dist)


def brute_knn(points: npt.ArrayLike, k: int = 10, *, queries: np.ndarray | None = None,
              block: int | None = None) -> Neighbours:
    """Reference k-NN by blocked numpy brute force in float64 (``queries``: row indices; default all).
    Blocks of about 2e7 distances (~160 MB) at a time."""
    x = np.asarray(points, dtype=np.float64)
    block = block or max(16, int(2e7 // max(x.shape[0], 1)))
    qi = np.arange(x.shape[0]) if queries is None else np.asarray(queries)
    norms = (x ** 2).sum(1)
    out_i = np.empty((qi.size, k), np.int64)
    out_d = np.empty((qi.size, k), np.float64)
    for s in range(0, qi.size, block):
        rows = qi[s:s + block]
        d2 = norms[rows][:, None] + norms[None, :] - 2 * x[rows] @ x.T
        d2[np.arange(rows.size), rows] = np.inf
        part = np.argpartition(d2, k, axis=1)[:, :k]
        pd = np.take_along_axis(d2, part, 1)
        o = np.argsort(pd, axis=1, kind="stable")
        out_i[s:s + block] = np.take_along_axis(part, o, 1)
        out_d[s:s + block] = np.sqrt(np.maximum(np.take_along_axis(pd, o, 1), 0))
    return Neighbours(out_i, out_d.astype(np.float32))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of true neighbours found (rows aligned; order ignored)."""
    hits = sum(len(set(a) & set(b)) for a, b in zip(found.tolist(), truth.tolist(), strict=True))
    return hits / truth.size
