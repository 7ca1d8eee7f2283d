"""Co-occurrence: rare collections weigh more than huge ones; cosine over weighted memberships."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sori.related.cooccurrence import build_cooccurrence, top_k_per_row


def members(rows):
    return pd.DataFrame(rows, columns=["kind", "collection_id", "artist_id", "collection_name"])


def test_sharing_a_small_playlist_beats_sharing_a_huge_chart():
    ids = [f"a{i}" for i in range(60)]
    rows = [("chart", "kr:2026-11-19", a, "Top 50 Korea") for a in ids[:50]]  # 50 artists in one chart
    rows += [("playlist", "p_small", "a0", "Indie"), ("playlist", "p_small", "a1", "Indie")]
    rows += [("playlist", "p_x", "a0", "X"), ("playlist", "p_x", "a55", "X"), ("playlist", "p_x", "a56", "X")]
    rows += [("playlist", "p_y", "a2", "Y"), ("playlist", "p_y", "a57", "Y")]
    co = build_cooccurrence(members(rows), ids)
    s = co.similarity(np.array([0, 0, 2]), np.array([1, 2, 3]))
    assert s[0] > s[1] > 0  # a0-a1 share the small playlist (and the chart); a0-a2 only the chart
    assert s[2] > 0  # a2-a3 share only the chart: still related, weakly
    w = dict(zip(co.collection_ids, co.weights, strict=False))
    assert w["p_small"] > w["kr:2026-11-19"]
    idx, _sim = co.top_k(3)
    assert idx[0, 0] == 1
    assert not co.has_any[58] and co.has_any[0]


def test_shared_lists_rarest_first_and_counts():
    ids = ["a", "b", "c", "d"]
    rows = [("playlist", "big", x, "Big") for x in ids] + [("playlist", "small", x, "Small") for x in "ab"]
    co = build_cooccurrence(members(rows), ids)
    shared = co.shared(np.array([0, 0]), np.array([1, 2]))
    assert [s["id"] for s in shared[0]] == ["small", "big"]
    assert [s["name"] for s in shared[1]] == ["Big"]
    assert co.shared_count(np.array([0, 0]), np.array([1, 2])).tolist() == [2, 1]


def test_kinds_filter_singletons_and_unknown_artists():
    rows = [("playlist", "p", "a", "P"), ("playlist", "p", "b", "P"), ("session", "s", "a", None),
            ("session", "s", "c", None), ("playlist", "solo", "c", "Solo"), ("playlist", "p", "zz", "P")]
    co = build_cooccurrence(members(rows), ["a", "b", "c"], kinds=["session"])
    assert co.collection_ids.tolist() == ["s"] and co.collection_names.tolist() == ["s"]
    co_all = build_cooccurrence(members(rows), ["a", "b", "c"])
    assert sorted(co_all.collection_ids.tolist()) == ["p", "s"]  # "solo" has one artist: says nothing


def test_top_k_per_row_orders_by_value_then_column():
    idx, val = top_k_per_row(np.array([0, 0, 0, 2]), np.array([5, 3, 4, 1]), np.array([1.0, 2.0, 1.0, 0.5]), 3, 2)
    assert idx.tolist() == [[3, 4], [-1, -1], [1, -1]]
    assert val[0].tolist() == [2.0, 1.0]
