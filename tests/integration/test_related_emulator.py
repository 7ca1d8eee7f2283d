"""The emulator's related-artist sources: credited artists on "(feat. X)" tracks, public playlists by search."""
from __future__ import annotations

import pytest
import requests

from local.emulator import SpotifyEmulator, load_catalog


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def emu(catalog):
    server = SpotifyEmulator(mode="extended", port=0, catalog=catalog).start()
    yield server
    server.stop()


def _get(emu, path, **params):
    tok = requests.post(emu.token_url, data={"grant_type": "client_credentials"}, auth=("cid", "secret"),
                        timeout=5).json()["access_token"]
    r = requests.get(emu.url + path, params=params, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
    r.raise_for_status()
    return r.json()


def _feat_track(catalog):
    return next(t for t in catalog.tracks.values() if t.name.startswith("Ti volevo dedicare (feat. J-AX"))


def test_featured_artists_are_credited(emu, catalog):
    t = _feat_track(catalog)
    names = [a["name"] for a in _get(emu, f"/v1/tracks/{t.id}")["artists"]]
    assert names == ["Rocco Hunt", "J-AX", "Boomdabash"]
    plain = next(x for x in catalog.tracks.values() if "(" not in x.name)
    assert len(_get(emu, f"/v1/tracks/{plain.id}")["artists"]) == 1


def test_credits_reach_playlist_items(emu, catalog):
    pid, tid = next((pid, t) for pid, p in catalog.playlists.items() for t in p.track_ids
                    if len(catalog.credited_artists(t)) > 1)
    page = _get(emu, f"/v1/playlists/{pid}/tracks", limit=100)
    item = next(it for it in page["items"] if it["track"]["id"] == tid)
    assert len(item["track"]["artists"]) == len(catalog.credited_artists(tid)) > 1


def test_search_playlists_by_artist_and_genre(emu, catalog):
    bts = catalog.find_artist("BTS")
    found = _get(emu, "/v1/search", q="BTS", type="playlist", limit=50)["playlists"]
    ids = [p["id"] for p in found["items"]]
    assert ids and set(ids) <= set(catalog.playlists_by_artist[bts.id])
    assert all("BTS" in p["description"] for p in found["items"])
    rock = _get(emu, "/v1/search", q="genre:rock", type="playlist", limit=50)["playlists"]
    assert rock["total"] > 20 and all(catalog.playlists[p["id"]].genre == "rock" or
                                      "rock" in {g for g, _ in catalog.playlists[p["id"]].labels}
                                      for p in rock["items"])


def test_development_mode_search_leaves_out_editorial(emu, catalog):
    emu.configure(mode="development")
    try:
        found = _get(emu, "/v1/search", q="genre:pop", type="playlist", limit=10)["playlists"]["items"]
    finally:
        emu.configure(mode="extended")
    assert found and not any(catalog.playlists[p["id"]].editorial for p in found)
