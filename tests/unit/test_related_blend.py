"""The learned blend and the listener-judgment evaluation on a small synthetic world."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sori.related.blend import (
    FEATURES,
    build_audio,
    build_signals,
    fit_logistic,
    hold_out,
    judgments,
    learn_weights,
    rank_blend,
)
from sori.related.listeners import ndcg, precision
from sori.related.profiles import PROFILE_FEATURES


def _world(n_groups=6, per=8, playlists=60, seed=0):
    """Artists in groups; playlists draw from one group; audio is noise (carries no group signal)."""
    rng = np.random.default_rng(seed)
    artists = [f"a{g}_{i}" for g in range(n_groups) for i in range(per)]
    tracks = pd.DataFrame([{"artist_id": a, "track_id": f"t{a}", "track_rank": 1,
                            **{f: rng.random() for f in PROFILE_FEATURES}} for a in artists])
    rows = []
    for p in range(playlists):
        g = p % n_groups
        for i in rng.choice(per, 4, replace=False):
            rows.append(("playlist", f"p{p}", f"a{g}_{i}", f"P{p}"))
    members = pd.DataFrame(rows, columns=["kind", "collection_id", "artist_id", "collection_name"])
    return artists, tracks, members


def test_fit_logistic_finds_the_informative_feature():
    rng = np.random.default_rng(1)
    X = rng.random((400, 2))
    y = (X[:, 0] + 0.1 * rng.standard_normal(400) > 0.5).astype(float)
    w = fit_logistic(X, y)
    assert w[0] > 1.0 and abs(w[1]) < w[0] / 3


def test_hold_out_keeps_collections_whole_and_spares_charts():
    _, _, members = _world()
    members = pd.concat([members, pd.DataFrame([("chart", "kr:1", "a0_0", "KR")], columns=members.columns)])
    kept, held = hold_out(members, 0.3, "t")
    assert set(kept.collection_id) & set(held.collection_id) == set()
    assert "chart" not in set(held.kind) and 0 < held.collection_id.nunique() < 60


def test_learned_weights_prefer_playlists_over_noise_audio_and_beat_audio():
    artists, tracks, members = _world()
    audio = build_audio(tracks)
    w = learn_weights(members, audio, None, artists, share=0.3, min_held_out=0)
    assert w.info["from"] == "lake"
    assert w.w[FEATURES.index("playlist")] > max(w.w[FEATURES.index("audio")], 0)
    kept, held = hold_out(members, 0.25, "eval")
    sig = build_signals(kept, audio, None, artists)
    gains = judgments(held, sig.artist_ids)
    seeds = np.flatnonzero(np.asarray(gains.getnnz(axis=1) > 0))
    ranking, _ = rank_blend(sig, learn_weights(kept, audio, None, artists, min_held_out=0), k=5)
    same_group = np.mean([artists[j].split("_")[0] == artists[i].split("_")[0]
                          for i in range(len(artists)) for j in ranking.idx[i] if j >= 0])
    assert same_group > 0.9
    assert precision(ranking.idx, gains, seeds, 5) > 0.3 and 0 < ndcg(ranking.idx, gains, seeds, 5) <= 1


def test_judgments_weigh_rare_collections_more():
    m = pd.DataFrame([("playlist", "small", "a", ""), ("playlist", "small", "b", ""),
                      *[("playlist", "big", x, "") for x in "acdefgh"]],
                     columns=["kind", "collection_id", "artist_id", "collection_name"])
    g = judgments(m, list("abcdefgh"))
    assert g[0, 1] > g[0, 2] > 0 and g[0, 0] == 0


def test_too_few_held_out_collections_use_the_shipped_weights():
    artists, tracks, members = _world(playlists=12)
    w = learn_weights(members, build_audio(tracks), None, artists)
    assert w.info["from"].startswith("shipped") and w.w[FEATURES.index("playlist")] > 0
