"""Co-occurrence similarity: artists that people put together (same playlist, chart-week, listening session).

Input is what ``sori/queries/related_collections.sql`` returns: one row per (kind, collection_id, artist_id).
The artist × collection matrix is binary, each collection weighted by an inverse-frequency weight
``log(1 + N / size)`` (N artists in all, ``size`` artists in that collection): sharing a 12-artist playlist
says more than sharing a 200-entry chart. Similarity is the cosine of the weighted rows (so an artist in many
collections is not similar to everyone), computed with scipy.sparse.

>>> import pandas as pd
>>> m = pd.DataFrame({"kind": ["playlist"] * 4, "collection_id": ["p1", "p1", "p2", "p2"],
...                   "artist_id": ["a", "b", "a", "c"], "collection_name": ["P1", "P1", "P2", "P2"]})
>>> co = build_cooccurrence(m, ["a", "b", "c", "d"])
>>> idx, sim = co.top_k(2)
>>> idx[0].tolist(), bool(co.has_any[3])
([1, 2], False)
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import scipy.sparse as sp


@dataclass(frozen=True)
class Cooccurrence:
    """Rows follow ``artist_ids`` (the caller's order); ``matrix`` rows are L2-normalised weighted memberships."""

    artist_ids: np.ndarray  # object (n,)
    matrix: sp.csr_matrix  # (n artists, m collections), float64
    binary: sp.csr_matrix  # (n, m) 0/1 membership
    collection_ids: np.ndarray  # object (m,)
    collection_kinds: np.ndarray  # object (m,)
    collection_names: np.ndarray  # object (m,)
    weights: np.ndarray  # float64 (m,)

    @property
    def has_any(self) -> np.ndarray:
        """Artists that share at least one collection with someone (a non-zero row)."""
        return np.asarray(self.matrix.getnnz(axis=1) > 0)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine similarity of the pairs (a[i], b[i])."""
        if len(a) == 0:
            return np.zeros(0)
        return np.asarray(self.matrix[a].multiply(self.matrix[b]).sum(axis=1)).ravel()

    def top_k(self, k: int, block: int = 2048, dense_cells: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most co-occurring other artists of every artist: (idx (n, k) with -1 pads, similarity).

        Rows are done a block at a time, so a collection shared by thousands of artists (a genre) never
        needs the whole n × n product in memory; a block is scored densely (``argpartition``) when it has at
        most ``dense_cells`` cells, else as a sparse list."""
        n = self.matrix.shape[0]
        idx = np.full((n, k), -1, np.int64)
        out = np.zeros((n, k))
        t = self.matrix.T.tocsr()
        rows_dense = max(1, dense_cells // max(n, 1))
        step = min(block, rows_dense) if n <= dense_cells // 64 else block
        for s in range(0, n, step):
            prod = self.matrix[s:s + step] @ t
            if n <= dense_cells // 64:
                idx[s:s + step], out[s:s + step] = _dense_top_k(prod.toarray(), s, k)
                continue
            sim = prod.tocoo()
            keep = (sim.row + s != sim.col) & (sim.data > 0)
            bi, bo = top_k_per_row(sim.row[keep], sim.col[keep], sim.data[keep], sim.shape[0], k)
            idx[s:s + step], out[s:s + step] = bi, bo
        return idx, out

    def shared(self, a: np.ndarray, b: np.ndarray, n: int = 3) -> list[list[dict[str, Any]]]:
        """For each pair, up to ``n`` collections both artists are in, rarest (most telling) first."""
        both = self.binary[a].multiply(self.binary[b]).tocoo()
        out: list[list[dict[str, Any]]] = [[] for _ in range(len(a))]
        if both.nnz == 0:
            return out
        idx, _ = top_k_per_row(both.row, both.col, self.weights[both.col], len(a), n)
        for i, row in enumerate(idx.tolist()):
            out[i] = [{"kind": self.collection_kinds[c], "id": self.collection_ids[c],
                       "name": self.collection_names[c]} for c in row if c >= 0]
        return out

    def shared_count(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if len(a) == 0:
            return np.zeros(0, int)
        return np.asarray(self.binary[a].multiply(self.binary[b]).sum(axis=1)).ravel().astype(int)


def _dense_top_k(d: np.ndarray, first_row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row top-k of a dense block whose row i is artist ``first_row + i`` (self and zeros excluded);
    highest first, ties by column, as :func:`top_k_per_row`."""
    b, n = d.shape
    d[np.arange(b), first_row + np.arange(b)] = 0.0
    kk = min(k, n)
    part = np.argpartition(-d, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (b, 1))
    vals = np.take_along_axis(d, part, 1)
    order = np.lexsort((part, -vals), axis=1)
    part, vals = np.take_along_axis(part, order, 1), np.take_along_axis(vals, order, 1)
    idx = np.full((b, k), -1, np.int64)
    out = np.zeros((b, k))
    ok = vals > 0
    idx[:, :kk] = np.where(ok, part, -1)
    out[:, :kk] = np.where(ok, vals, 0.0)
    return idx, out


def top_k_per_row(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int,
                  k: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised per-row top-k of a sparse (row, col, value) list: highest value first, ties by column."""
    idx = np.full((n_rows, k), -1, np.int64)
    out = np.zeros((n_rows, k))
    if len(rows) == 0 or k <= 0:
        return idx, out
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, rows, side="left")
    pos = np.arange(len(rows)) - starts
    sel = pos < k
    idx[rows[sel], pos[sel]] = cols[sel]
    out[rows[sel], pos[sel]] = vals[sel]
    return idx, out


def build_cooccurrence(members: pd.DataFrame, artist_ids: Sequence[str] | np.ndarray, *,
                       kinds: Iterable[str] | None = None, min_size: int = 2,
                       max_size: int | None = None) -> Cooccurrence:
    """Weighted artist × collection matrix over ``artist_ids`` (members of other artists are ignored).

    ``kinds`` keeps only those collection kinds; collections with fewer than ``min_size`` known artists say
    nothing about pairs and are dropped, as are any above ``max_size`` when given.
    """
    import scipy.sparse as sp

    ids = np.asarray(list(artist_ids), dtype=object)
    pos = {a: i for i, a in enumerate(ids.tolist())}
    df = members
    if kinds is not None:
        df = df[df["kind"].isin(list(kinds))]
    df = df[df["artist_id"].isin(pos.keys())]
    key = df["kind"].astype(str) + "\x1f" + df["collection_id"].astype(str)
    df = df.assign(_key=key).drop_duplicates(["_key", "artist_id"])
    sizes = df.groupby("_key")["artist_id"].transform("size")
    keep = sizes >= min_size
    if max_size:
        keep &= sizes <= max_size
    df = df[keep]
    ckeys, ccodes = np.unique(df["_key"].to_numpy().astype(str), return_inverse=True)
    rows = np.array([pos[a] for a in df["artist_id"].tolist()], dtype=np.int64)
    n, m = len(ids), len(ckeys)
    binary = sp.csr_matrix((np.ones(len(rows)), (rows, ccodes)), shape=(n, m))
    size = np.asarray(binary.sum(axis=0)).ravel()
    weights = np.log1p(max(n, 1) / np.maximum(size, 1))
    weighted = binary @ sp.diags(weights)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    matrix = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ weighted
    first = df.drop_duplicates("_key").set_index("_key")
    names = first["collection_name"] if "collection_name" in first.columns else first["collection_id"]
    return Cooccurrence(
        artist_ids=ids, matrix=sp.csr_matrix(matrix), binary=binary,
        collection_ids=first.loc[ckeys, "collection_id"].to_numpy(dtype=object),
        collection_kinds=first.loc[ckeys, "kind"].to_numpy(dtype=object),
        collection_names=names.loc[ckeys].fillna(first.loc[ckeys, "collection_id"]).to_numpy(dtype=object),
        weights=weights)
