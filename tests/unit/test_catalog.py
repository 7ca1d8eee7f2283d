"""The emulator's compact catalog (local/data/catalog.json.gz) and its loader."""
from __future__ import annotations

import re

import pytest

from local.emulator import load_catalog, normalize, parse_query


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def test_counts_and_cache(cat):
    assert len(cat.tracks) == 28352            # 28,356 distinct ids minus the NA rows' ids
    assert len(cat.artists) == 10692
    assert len(cat.playlists) == 471
    assert load_catalog() is cat
    assert "MIT" in cat.attribution


def test_ids_and_records(cat):
    b62 = re.compile(r"^[0-9A-Za-z]{22}$")
    assert all(b62.match(a) for a in cat.artists)
    bts = cat.find_artist("BTS")
    assert bts.id == "Sj2IAnUrfyL8p61DFa7gqR"           # deterministic from the display name
    assert bts.genres[0] == "k-pop" and bts.popularity > 0 and bts.followers > 0
    t = cat.top_tracks(bts.id, 1)[0]
    assert t.artist_id == bts.id and t.features["time_signature"] == 4
    assert re.match(r"^https://i\.scdn\.co/image/ab67616d0000b273[0-9a-f]{40}$", t.album.image_url)
    assert t.album.release_date_precision in ("day", "month", "year")
    assert all(t.name != "NA" or cat.artists[t.artist_id].name != "NA" for t in cat.tracks.values())
    assert cat.find_artist("NA") is None


def test_playlists_keep_genre_labels(cat):
    genres = {p.genre for p in cat.playlists.values()}
    assert genres == {"edm", "rap", "pop", "r&b", "latin", "rock"}
    assert sum(len(p.track_ids) for p in cat.playlists.values()) > 30000
    multi = [p for p in cat.playlists.values() if len(p.labels) > 1]
    assert len(multi) == 8


def test_lookups_and_hangul(cat):
    assert cat.find_artist("방탄소년단").name == "BTS"
    assert cat.find_artist("  blackpink ").name == "BLACKPINK"
    assert cat.find_artist("(여자)아이들").name == "(G)I-DLE"
    assert [a.name for a in cat.search_artists("엔시티 127")][:1] == ["NCT 127"]
    related = cat.related_artists(cat.find_artist("Drake").id)
    assert len(related) == 20 and len({a.id for a in related}) == 20
    assert normalize("  Ｂ T S ") == "b t s"
    q = parse_query('artist:"Red Velvet" track:Psycho love')
    assert q["artist"] == ["Red Velvet"] and q["track"] == ["Psycho"] and q["free"] == ["love"]
