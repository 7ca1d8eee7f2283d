"""Scale benchmark for related_builder's neighbour search (issue 5).

Synthetic clustered 9-D profiles (a Gaussian mixture: 1,000 centres ~ N(0, 1), members ~ N(centre, 0.35²) — about
as hard for a k-d tree as the real catalog's profiles, where scipy's cKDTree needs minutes at 1M):

- ``exact_100k_s``: exact top-10 of every one of 100,000 artists (``sori.related.neighbours.exact_knn``);
- ``approx_1m_s`` / ``recall_1m``: approximate top-10 (``approx_knn``: faiss IVF, no certificate) of every one
  of 1,000,000 artists, recall against brute force on a random sample of queries;
- ``peak_mb``: the process's peak resident set (``ru_maxrss``; tracemalloc does not see numpy/faiss memory).

    .venv/bin/python bench/related_scale.py [--n-small 100000] [--n-large 1000000] [--sample 2000]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sori.related.neighbours import approx_knn, brute_knn, exact_knn, recall


def clustered(n: int, d: int = 9, centres: int = 1000, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 1, (centres, d))
    return (c[rng.integers(0, centres, n)] + rng.normal(0, spread, (n, d))).astype(np.float32)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-small", type=int, default=100_000)
    ap.add_argument("--n-large", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2000, help="queries checked against brute force")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--nprobe", type=int, default=12, help="cells scanned per query at 1M (approximate)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    out: dict = {"k": args.k, "cpus": os.cpu_count(), "machine": platform.machine()}

    x = clustered(args.n_small, seed=1)
    t = time.perf_counter()
    nb = exact_knn(x, args.k)
    out["exact_100k_s"] = round(time.perf_counter() - t, 3)
    q = rng.choice(x.shape[0], min(args.sample, x.shape[0]), replace=False)
    out["recall_100k"] = recall(nb.idx[q], brute_knn(x, args.k, queries=q).idx)
    del x, nb

    x = clustered(args.n_large, seed=2)
    t = time.perf_counter()
    nb = approx_knn(x, args.k, nprobe=args.nprobe)
    out["approx_1m_s"] = round(time.perf_counter() - t, 3)
    out["method_1m"] = f"faiss IVFFlat nlist=4*sqrt(n) nprobe={args.nprobe}"
    q = rng.choice(x.shape[0], min(args.sample, x.shape[0]), replace=False)
    out["recall_1m"] = recall(nb.idx[q], brute_knn(x, args.k, queries=q).idx)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)  # shared machines: read the timings with this in mind
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
