"""Neighbour search: exact means equal to brute force (on a 20,000-artist sample), on both code paths."""
from __future__ import annotations

import numpy as np
import pytest

from sori.related import neighbours as nb


def clustered(n, d=9, centres=200, spread=0.35, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 1, (centres, d))
    return (c[rng.integers(0, centres, n)] + rng.normal(0, spread, (n, d))).astype(np.float32)


def assert_same_as_brute(found: nb.Neighbours, truth: nb.Neighbours):
    # distances equal (float32 arithmetic vs float64 reference) ...
    np.testing.assert_allclose(found.dist, truth.dist, rtol=1e-4, atol=1e-4)
    # ... and the same neighbours wherever the k-th distance is not tied with the (k+1)-th candidate
    same = (np.sort(found.idx, 1) == np.sort(truth.idx, 1)).all(1)
    assert same.mean() > 0.999, f"{(~same).sum()} rows differ"


@pytest.fixture(scope="module")
def sample():
    x = clustered(20_000, seed=3)
    return x, nb.brute_knn(x, 10)


def test_exact_knn_on_20k_equals_brute_force(sample):
    x, truth = sample
    assert_same_as_brute(nb.exact_knn(x, 10), truth)


def test_certified_ivf_on_20k_equals_brute_force_even_with_one_probe(sample):
    x, truth = sample
    index = nb.CertifiedIVF(x, nlist=256)
    found = index.search(x, 10, nprobe=1, self_ids=np.arange(len(x)))
    assert_same_as_brute(found, truth)
    # without certification one probe misses neighbours: the certificate is doing real work
    plain = index.search(x, 10, nprobe=1, self_ids=np.arange(len(x)), exact=False)
    assert nb.recall(plain.idx, truth.idx) < 0.99


def test_kdtree_path_on_20k_equals_brute_force(sample):
    x, truth = sample
    assert_same_as_brute(nb.kdtree_knn(x, 10, self_ids=np.arange(len(x))), truth)


def test_exact_knn_takes_the_kdtree_path_above_the_flat_limit(monkeypatch):
    x = clustered(3_000, seed=5)
    monkeypatch.setattr(nb, "FLAT_MAX", 1_000)
    assert_same_as_brute(nb.exact_knn(x, 10), nb.brute_knn(x, 10))
    x[7] = x[8]  # duplicates: the query itself may be crowded out of its own k+1 results
    found = nb.exact_knn(x, 10)
    assert not (found.idx == np.arange(len(x))[:, None]).any()
    assert found.dist[7, 0] == 0 and found.idx[7, 0] == 8


def test_self_is_excluded_and_duplicates_are_neighbours():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 9))
    x[10] = x[20]  # two artists with identical profiles
    found = nb.exact_knn(x, 5)
    assert not (found.idx == np.arange(500)[:, None]).any()
    assert found.idx[10, 0] == 20 and found.idx[20, 0] == 10
    assert found.dist[10, 0] == 0


def test_small_inputs_pad_with_minus_one():
    found = nb.exact_knn(np.zeros((3, 2)) + np.arange(3)[:, None], 5)
    assert found.idx.shape == (3, 5)
    assert (found.idx[:, 2:] == -1).all() and np.isinf(found.dist[:, 2:]).all()
    assert found.idx[0, :2].tolist() == [1, 2]


def test_bad_points_are_refused():
    with pytest.raises(ValueError):
        nb.exact_knn(np.array([[np.nan, 1.0], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError):
        nb.exact_knn(np.zeros(4), 1)


def test_recall():
    assert nb.recall(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]])) == 0.75
