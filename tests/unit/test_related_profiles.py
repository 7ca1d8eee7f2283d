"""Artist profiles: robust to outliers and to one-track artists; the classic baseline as specified."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sori.related.profiles import CLASSIC_FEATURES, PROFILE_FEATURES, build_profiles, classic_profiles, closest_features


def tracks(n_artists=50, per=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_artists):
        for t in range(per):
            rows.append({"artist_id": f"a{a:03d}", "track_id": f"t{a}_{t}", "track_rank": t + 1,
                         **{f: float(rng.random()) for f in PROFILE_FEATURES}})
    return pd.DataFrame(rows)


def test_shape_order_and_counts():
    p = build_profiles(tracks())
    assert p.artist_ids.tolist() == sorted(p.artist_ids.tolist())
    assert p.matrix.shape == (50, len(PROFILE_FEATURES)) and p.matrix.dtype == np.float32
    assert set(p.n_tracks.tolist()) == {3}
    np.testing.assert_allclose(p.matrix.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(p.matrix.std(0), 1, atol=1e-4)


def test_an_outlier_track_cannot_dominate():
    df = tracks()
    base = build_profiles(df)
    df.loc[0, "tempo"] = 1e9  # a broken value on one track
    df.loc[1, "duration_ms"] = -5e6
    moved = build_profiles(df)
    assert np.isfinite(moved.matrix).all()
    # rank-based: the broken values only move their own artist, and only boundedly
    i = base.index()["a000"]
    assert np.abs(moved.matrix[i] - base.matrix[i]).max() < 3
    others = np.delete(np.arange(50), i)
    assert np.abs(moved.matrix[others] - base.matrix[others]).max() < 0.5
    # whereas min-max scaling (the classic method) squashes everyone else's tempo to ~0
    classic = classic_profiles(df)
    assert classic.matrix[others, list(CLASSIC_FEATURES).index("tempo")].max() < 1e-6


def test_one_track_artists_and_incomplete_rows():
    df = tracks(per=1)
    df.loc[3, "energy"] = np.nan  # incomplete features: the track is left out
    p = build_profiles(df)
    assert len(p) == 49 and "a003" not in p.index()
    assert set(p.n_tracks.tolist()) == {1}


def test_best_ranked_tracks_are_used_and_duplicates_ignored():
    df = tracks(n_artists=5, per=12)
    df = pd.concat([df, df.iloc[:2]])  # the same (artist, track) twice
    p = build_profiles(df)
    assert p.n_tracks.tolist() == [10] * 5
    p3 = build_profiles(df, max_tracks=3)
    assert p3.n_tracks.tolist() == [3] * 5


def test_classic_profiles_min_max_mean_of_top_three():
    df = pd.DataFrame([
        {"artist_id": "a", "track_id": "1", "track_rank": 1, **dict.fromkeys(CLASSIC_FEATURES, 0.0)},
        {"artist_id": "a", "track_id": "2", "track_rank": 2, **dict.fromkeys(CLASSIC_FEATURES, 1.0)},
        {"artist_id": "a", "track_id": "9", "track_rank": 9, **dict.fromkeys(CLASSIC_FEATURES, 9.0)},
        {"artist_id": "a", "track_id": "3", "track_rank": 3, **dict.fromkeys(CLASSIC_FEATURES, 2.0)},
        {"artist_id": "b", "track_id": "4", "track_rank": 1, **dict.fromkeys(CLASSIC_FEATURES, 4.0)},
    ])
    p = classic_profiles(df)
    # min-max over the tracks used (0..4): a = mean(0, .25, .5), b = 1
    np.testing.assert_allclose(p.matrix[0], 0.25)
    np.testing.assert_allclose(p.matrix[1], 1.0)
    assert p.n_tracks.tolist() == [3, 1]


def test_closest_features():
    p = build_profiles(tracks())
    names = closest_features(p, np.array([0, 1]), np.array([1, 2]), n=2)
    assert len(names) == 2 and all(len(n) == 2 and set(n) <= set(PROFILE_FEATURES) for n in names)
    d = np.abs(p.matrix[0] - p.matrix[1])
    assert names[0][0] == PROFILE_FEATURES[int(np.argmin(d))]


def test_empty_input():
    p = build_profiles(tracks().iloc[:0])
    assert len(p) == 0 and p.matrix.shape == (0, len(PROFILE_FEATURES))


@pytest.mark.parametrize("missing", ["track_rank"])
def test_rank_column_optional(missing):
    p = build_profiles(tracks().drop(columns=[missing]))
    assert len(p) == 50
