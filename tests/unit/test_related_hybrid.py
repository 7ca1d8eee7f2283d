"""Hybrid ranking: co-occurrence + audio, fallbacks both ways, weights from settings, reasons for the chatbot."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sori.related.cooccurrence import build_cooccurrence
from sori.related.hybrid import compute_related, rank_audio, rank_related, related_rows
from sori.related.profiles import PROFILE_FEATURES, build_profiles


def world(n=40, seed=0):
    """n artists on a line of 'energy' (the rest noise-free), one track each; a few playlists."""
    rows = []
    for i in range(n):
        f = dict.fromkeys(PROFILE_FEATURES, 0.5)
        f["energy"] = i / n
        f["tempo"] = 100 + i
        rows.append({"artist_id": f"a{i:02d}", "track_id": f"t{i}", "track_rank": 1, **f})
    tracks = pd.DataFrame(rows)
    members = pd.DataFrame(
        [("playlist", "p1", "a00", "Far Apart"), ("playlist", "p1", "a39", "Far Apart"),
         ("playlist", "p2", "a10", "Duo"), ("playlist", "p2", "a30", "Duo"),
         ("session", "s1", "zz_no_features", None), ("session", "s1", "a20", None)],
        columns=["kind", "collection_id", "artist_id", "collection_name"])
    return tracks, members


def test_audio_ranking_is_nearest_on_the_line():
    tracks, _ = world()
    r = rank_audio(build_profiles(tracks), k=2)
    assert set(r.artist_ids[r.idx[5]]) == {"a04", "a06"}
    assert (np.diff(r.score, axis=1) <= 1e-12).all()  # best first
    assert r.mode == "audio"


def test_cooccurrence_lifts_a_pair_and_others_fall_back_to_audio():
    tracks, members = world()
    ranking, _prof, _cooc = compute_related(tracks, members, k=3, weight=0.7)
    pos = {a: i for i, a in enumerate(ranking.artist_ids.tolist())}
    top = lambda a: ranking.artist_ids[ranking.idx[pos[a]]].tolist()  # noqa: E731
    assert top("a00")[0] == "a39"  # far apart in audio, but they share a playlist
    assert top("a10")[0] == "a30"
    assert set(top("a05")) == {"a04", "a06", "a03"} or set(top("a05")) == {"a04", "a06", "a07"}  # audio only
    # an artist with no features yet is related through co-occurrence alone
    assert top("zz_no_features")[0] == "a20"
    assert (ranking.idx != np.arange(len(pos))[:, None]).all()


def test_weight_zero_is_audio_only_and_weight_comes_from_the_caller():
    tracks, members = world()
    prof = build_profiles(tracks)
    cooc = build_cooccurrence(members, prof.artist_ids)
    r0 = rank_related(prof, cooc, k=3, weight=0.0)
    ra = rank_audio(prof, k=3)
    assert (np.sort(r0.idx, 1) == np.sort(ra.idx, 1)).all()
    r1 = rank_related(prof, cooc, k=3, weight=1.0)
    assert r1.artist_ids[r1.idx[0, 0]] == "a39"


def test_rows_are_valid_generation_rows_with_reasons():
    tracks, members = world()
    ranking, prof, cooc = compute_related(tracks, members, k=3, weight=0.7)
    rows = list(related_rows(ranking, prof, cooc))
    assert {tuple(sorted(r)) for r in rows} == {("artist_id", "rank", "reason", "related_id", "score")}
    by = {(r["artist_id"], r["related_id"]): r for r in rows}
    pair = by[("a00", "a39")]
    assert pair["rank"] == 1 and pair["reason"]["shared"][0]["name"] == "Far Apart"
    assert pair["reason"]["shared_count"] == 1 and 0 < pair["reason"]["cooc"] <= 1
    assert set(pair["reason"]["features"]) <= set(PROFILE_FEATURES)
    audio_only = [r for r in rows if r["artist_id"] == "a05"]
    assert [r["rank"] for r in audio_only] == [1, 2, 3]
    assert all("shared" not in r["reason"] and r["reason"]["audio"] > 0 for r in audio_only)
    assert all(r["artist_id"] != r["related_id"] for r in rows)
    for a in {r["artist_id"] for r in rows}:
        scores = [r["score"] for r in rows if r["artist_id"] == a]
        assert scores == sorted(scores, reverse=True)


def test_settings_carry_the_weights(monkeypatch):
    from sori.settings import Settings

    s = Settings.from_env({"SORI_RELATED_WEIGHT_COOC": "0.25", "SORI_RELATED_K": "7"})
    assert s.related_weight_cooc == pytest.approx(0.25) and s.related_k == 7
