"""Where related artists come from: the nightly reads public playlists (listed + discovered) in extended mode,
stops at the first refusal in development mode, and records who sang together (kind ``collab``)."""
from __future__ import annotations

from typing import Any

from test_producers import catalog, emulator, of_type, pick_artists, stack, stream_records  # noqa: F401 - fixtures

from producers import catalog as catalog_fn
from producers.logic.catalog import CatalogResult, read_public
from producers.runtime import open_run


def test_public_playlist_ids_file_and_env(tmp_path):
    f = tmp_path / "ids.txt"
    f.write_text("# comment\np1\n\np2  # trailing\n")
    assert catalog_fn.public_playlist_ids({"SORI_PUBLIC_PLAYLIST_IDS": "p3, p1"}, f) == ["p1", "p2", "p3"]
    assert len(catalog_fn.public_playlist_ids({}, catalog_fn.PUBLIC_PLAYLISTS_PATH)) == 471


def test_extended_mode_reads_listed_and_discovered_public_playlists(stack, catalog):
    run = open_run("catalog")
    listed = sorted(p for p in catalog.playlists if not catalog.playlists[p].editorial)[:3]
    bts = catalog.find_artist("BTS")
    out: list[Any] = []
    res = CatalogResult()
    read_public(run.sources, listed, [{"data": {"name": "BTS", "genres": [], "popularity": 90}}], out, res,
                set(), "2026-11-18T00:00:00Z")
    playlists = {r["data"]["collection_id"] for r in out if r["data"]["kind"] == "playlist"}
    assert set(listed) <= playlists and playlists - set(listed)  # discovery found more
    assert set(catalog.playlists_by_artist[bts.id]) & (playlists - set(listed))
    assert res.public_playlists == len(playlists)
    collab = [r for r in out if r["data"]["kind"] == "collab"]
    assert collab and res.collabs == len({r["data"]["collection_id"] for r in collab})
    for tid in {r["data"]["collection_id"] for r in collab}:
        got = {r["data"]["artist_id"] for r in collab if r["data"]["collection_id"] == tid}
        assert got == {a.id for a in catalog.credited_artists(tid)} and len(got) > 1


def test_development_mode_stops_at_the_first_refusal(stack, catalog):
    stack.configure(mode="development")
    try:
        run = open_run("catalog")
        listed = sorted(p for p in catalog.playlists if not catalog.playlists[p].editorial)[:5]
        out: list[Any] = []
        res = CatalogResult()
        read_public(run.sources, listed, [{"data": {"name": "BTS", "genres": [], "popularity": 90}}], out, res,
                    set(), "2026-11-18T00:00:00Z")
        by = stack.stats()["requests"]
    finally:
        stack.configure(mode="extended")
    assert out == [] and res.public_playlists == 0
    assert "collections→own-playlists" in run.sources.fallbacks.used
    assert by.get("GET /v1/playlists/{id}/items", 0) + by.get("GET /v1/playlists/{id}/tracks", 0) == 1
    assert "GET /v1/search" not in by  # no discovery when nothing could be read


def test_top_tracks_with_featured_artists_become_collabs(stack, catalog):
    feat = next(t for t in catalog.tracks.values() if len(catalog.credited_artists(t)) > 1
                and catalog.tracks_by_artist[t.artist_id][0] == t.id)
    store, _ = pick_artists(catalog, 1)
    s = catalog_fn.run_catalog({"artist_ids": [feat.artist_id]}, open_run("catalog"), store)
    assert s["collabs"] >= 1 and s["public_playlists"] == 0  # a requested refresh reads no public playlists
    recs = [r for r in of_type(stream_records(), "collection_member") if r["data"]["kind"] == "collab"]
    assert {r["data"]["artist_id"] for r in recs if r["data"]["collection_id"] == feat.id} == \
        {a.id for a in catalog.credited_artists(feat)}
