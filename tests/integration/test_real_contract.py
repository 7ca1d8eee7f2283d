"""Real recorded responses (``tests/fixtures/real``) through the project's own spotipy clients and every producer's
logic, over a loopback replay server (``tests/integration/replay.py``). Issue 14 items 1–5."""
from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest

from producers.logic.catalog import refresh_catalog
from producers.logic.charts import chart_records, entries_from_playlist, run_weekly
from producers.logic.listening import fetch_followed, fetch_recently_played, followed_records, play_records
from sori.charts import load_charts
from sori.spotify.capabilities import Capabilities
from sori.spotify.sources import GLOBAL_TOP50, Sources
from tests.integration.replay import Replay, load

AT = "2026-12-04T00:00:00Z"
KR = "37i9dQZEVXbNxXF4SkHj9F"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv("SORI_SPOTIFY_CLIENT_ID", "replay-client")
    monkeypatch.setenv("SORI_SPOTIFY_CLIENT_SECRET", "replay-secret")


@pytest.fixture
def replay():
    with Replay() as r:
        yield r


def items(pid: str) -> str:
    return f"/v1/playlists/{pid}/items"


def by_type(recs, kind):
    return [r for r in recs if r["type"] == kind]


# -- item 1: chart rank = position in the playlist -------------------------------------------------------------

def test_rank_is_the_playlist_position_after_episodes(replay):
    """zmb3/spotify's recording: positions 1–2 are episodes, 3–4 tracks (old code ranked them 1 and 2)."""
    replay.route("GET", items(KR), "spotify/zmb3_playlist_items_episodes_and_tracks.json")
    src = Sources(replay.app_client(), Capabilities())
    entries = entries_from_playlist(src.chart_playlist(KR))
    assert [(e.rank, e.track_id) for e in entries] == [(3, "5aFGo8wHEntVxFI8IF7Wuj"), (4, "0j4FFgyRleA5IbWP4BmlIC")]


def test_feb2026_item_only_pages_keep_positions_across_pages(replay):
    """`item`-only items: null (2), episode (3), local file (4) skipped; a relinked (5) and a restricted (6) track
    kept; page 2 continues the count."""
    replay.route("GET", items(KR), "spotify/handmade_playlist_items_feb2026_page1.json")
    replay.route("GET", items(KR), "spotify/handmade_playlist_items_feb2026_page2.json", query={"offset": "5"})
    src = Sources(replay.app_client(), Capabilities())
    chart = load_charts()["kr"]
    entries = entries_from_playlist(src.chart_playlist(KR))
    assert [e.rank for e in entries] == [1, 5, 6, 7]
    recs = by_type(chart_records(chart, "2026-02-26", entries, "top50-playlist", emitted_at=AT), "chart_entry")
    assert [r["data"]["rank"] for r in recs] == [1, 5, 6, 7]
    assert recs[1]["data"]["track_id"] == "2takcwOaAZWiXQijPHIx7B"  # the relinked track keeps its playable id


# -- item 2: real Top 50 ids; an unknown id is not an editorial removal ----------------------------------------

def test_charts_csv_carries_the_real_top50_ids():
    rows = {r["country"]: r["top50_playlist_id"] for r in csv.DictReader(open(ROOT / "sori/data/charts.csv"))}
    assert (rows["global"], rows["kr"], rows["jp"]) == (GLOBAL_TOP50, KR, "37i9dQZEVXbKXQ4mDTEBXq")
    assert len(rows) == 62 == len(set(rows.values()))
    assert "37i9dQZEVXbNxXF4SkHj9F" in (ROOT / "sori/data/charts_sources.md").read_text()


def test_one_unknown_playlist_id_skips_only_that_chart(replay, caplog):
    missing = "37i9dQZEVXbAAAAAAAAAAA"
    replay.route("GET", items(missing), (404, "spotify/handmade_error_404.json"))
    replay.route("GET", items(GLOBAL_TOP50), "spotify/zmb3_playlist_items_episodes_and_tracks.json")
    replay.route("GET", items(KR), "spotify/java_playlist_items.json")
    src = Sources(replay.app_client(), Capabilities())
    with caplog.at_level(logging.WARNING, "sori.spotify"):
        assert src.chart_playlist(missing) is None
    assert src.caps.get("editorial_playlists") is True   # the Global id answered: editorial playlists readable
    assert src.missing_playlists == [missing] and "does not exist" in caplog.text
    assert len(src.chart_playlist(KR)) > 0                # the next chart still reads its playlist


@pytest.mark.parametrize("status,pid", [(403, KR), (404, GLOBAL_TOP50)])
def test_403_or_404_on_global_means_editorial_playlists_unavailable(replay, status, pid):
    replay.route("GET", items(pid), (status, f"spotify/handmade_error_{status}.json"))
    replay.route("GET", items(GLOBAL_TOP50), (404, "spotify/handmade_error_404.json"))
    src = Sources(replay.app_client(), Capabilities())
    assert src.chart_playlist(pid) is None
    assert src.caps.get("editorial_playlists") is False and src.missing_playlists == []


def test_run_weekly_over_real_pages(replay):
    """Global reads its (recorded) playlist, one chart's id is unknown (→ its fallback), Korea still reads."""
    charts = load_charts()
    gl, ar, kr = charts["global"], charts["ar"], charts["kr"]
    replay.route("GET", items(gl.top50_playlist_id), "spotify/zmb3_playlist_items_episodes_and_tracks.json")
    replay.route("GET", items(ar.top50_playlist_id), (404, "spotify/handmade_error_404.json"))
    replay.route("GET", items(kr.top50_playlist_id), "spotify/java_playlist_items.json")
    replay.route("GET", "/v1/audio-features", "spotify/java_audio_features_several.json")
    out = []
    res = run_weekly([gl, ar, kr], "2026-11-26", Sources(replay.app_client(), Capabilities()), out.extend,
                     emitted_at=AT)
    assert res.charts == {"global": "top50-playlist", "ar": "awaiting-drop", "kr": "top50-playlist"}
    ranks = [r["data"]["rank"] for r in by_type(out, "chart_entry") if r["data"]["country"] == "global"]
    assert ranks == [3, 4]


# -- item 3: key -1 ---------------------------------------------------------------------------------------------

def test_key_minus_one_from_spotify_is_null_key_and_mode(replay):
    replay.route("GET", "/v1/audio-features", "spotify/handmade_audio_features_key_minus1_and_null.json")
    src = Sources(replay.app_client(), Capabilities())
    got = src.audio_features(["11dFghVXANMlKmJXsNCbNl", "0000000000000000000000", "7ouMYWpwJ422jRcDASZB7P"])
    assert set(got) == {"11dFghVXANMlKmJXsNCbNl", "7ouMYWpwJ422jRcDASZB7P"}       # the null entry: missing
    none_key = got["11dFghVXANMlKmJXsNCbNl"].values
    assert "key" not in none_key and "mode" not in none_key and none_key["tempo"] == 98.0
    assert got["7ouMYWpwJ422jRcDASZB7P"].values["key"] == 5 and got["7ouMYWpwJ422jRcDASZB7P"].values["mode"] == 0


def test_key_minus_one_from_reccobeats_is_null_and_not_in_major_share(replay):
    replay.route("GET", "/v1/audio-features", (403, "spotify/handmade_error_403.json"))
    replay.route("GET", "/reccobeats/v1/audio-features", "reccobeats/handmade_audio_features.json")
    src = Sources(replay.app_client(), Capabilities(), replay.reccobeats())
    got = src.audio_features(["11dFghVXANMlKmJXsNCbNl", "7ouMYWpwJ422jRcDASZB7P"])
    from producers.logic.records import features_record
    recs = [features_record(f, None, emitted_at=AT)["data"] for f in got.values()]
    assert {(r["track_id"], r.get("key"), r.get("mode"), r["via"]) for r in recs} == {
        ("11dFghVXANMlKmJXsNCbNl", None, None, "reccobeats"), ("7ouMYWpwJ422jRcDASZB7P", 5, 0, "reccobeats")}
    modes = [r["mode"] for r in recs if r.get("mode") is not None]
    assert sum(modes) / len(modes) == 0.0   # major share over known modes only (was 0.5 with key -1's mode 1)


# -- item 4: development mode, search misses the artist ---------------------------------------------------------

def test_dev_mode_search_miss_fetches_the_single_artist(replay):
    aid = "0OdUWJ0sBjDrqHygGUXeCF"                   # java_artist.json; not among the search's artists
    replay.route("GET", "/v1/artists", (403, "spotify/handmade_error_403.json"))
    replay.route("GET", f"/v1/artists/{aid}/top-tracks", (403, "spotify/handmade_error_403.json"))
    replay.route("GET", "/v1/search", "spotify/zmb3_search_tracks.json")
    replay.route("GET", f"/v1/artists/{aid}", "spotify/java_artist.json")
    replay.route("GET", "/v1/audio-features", (403, "spotify/handmade_error_403.json"))
    out = []
    src = Sources(replay.app_client(), Capabilities(), replay.reccobeats())
    res = refresh_catalog([{"id": aid, "name": "Band of Horses"}], src, out.extend, emitted_at=AT)
    (artist,) = by_type(out, "artist")
    want = load("spotify/java_artist.json")
    assert artist["data"]["followers"] == want["followers"]["total"] and artist["data"]["genres"] == want["genres"]
    assert artist["data"]["popularity"] == want["popularity"] and replay.hits(f"/v1/artists/{aid}") == 1
    assert "artists→single-artist" in src.fallbacks.used and res.stopped is None


def test_dev_mode_search_hit_needs_no_extra_call(replay):
    found = load("spotify/zmb3_search_artist.json")["artists"]["items"][0]
    replay.route("GET", f"/v1/artists/{found['id']}/top-tracks", (403, "spotify/handmade_error_403.json"))
    replay.route("GET", "/v1/search", "spotify/zmb3_search_artist.json")
    src = Sources(replay.app_client(), Capabilities())
    tt = src.top_tracks(found["id"], found["name"])
    assert tt.via == "search" and tt.artist["id"] == found["id"] and replay.hits(f"/v1/artists/{found['id']}") == 0


# -- item 5: refresh token kept unless rotated -------------------------------------------------------------------

@pytest.mark.parametrize("answer,kept", [
    ("spotify/java_token_refresh.json", True),                       # no refresh_token in the answer
    ({**load("spotify/java_token_refresh.json"), "refresh_token": None}, True),
    ({**load("spotify/java_token_refresh.json"), "refresh_token": ""}, True),
    ("spotify/java_token_pkce_refresh.json", False),                 # rotated
])
def test_refresh_token_kept_unless_the_token_endpoint_rotates_it(replay, answer, kept):
    replay.route("POST", "/api/token", answer)
    replay.route("GET", "/v1/me/player/recently-played", "spotify/java_recently_played.json")
    user = replay.user_client("stored-refresh-token")
    fetch_recently_played(user, None, max_pages=1)
    fetch_recently_played(user, None, max_pages=1)
    assert user.refresh_token == ("stored-refresh-token" if kept else "REDACTED-REFRESH-TOKEN-ROTATED")
    grants = [r["form"] for r in replay.requests if r["path"] == "/api/token"]
    assert grants[0]["refresh_token"] == "stored-refresh-token"


# -- every producer's logic over the corpus ----------------------------------------------------------------------

def test_catalog_extended_mode_over_recorded_responses(replay):
    several = load("spotify/java_artists_several.json")["artists"]
    replay.route("GET", "/v1/artists", "spotify/java_artists_several.json")
    for a in several:
        replay.route("GET", f"/v1/artists/{a['id']}/top-tracks", "spotify/java_artist_top_tracks.json")
    replay.route("GET", "/v1/audio-features", "spotify/java_audio_features_several.json")
    replay.route("GET", "/v1/me/playlists", "spotify/java_me_playlists.json")
    pl = load("spotify/java_me_playlists.json")["items"]
    for p in pl:
        replay.route("GET", items(p["id"]), "spotify/java_playlist_items.json")
    out = []
    user = replay.user_client()
    replay.route("POST", "/api/token", "spotify/java_token_refresh.json")
    res = refresh_catalog([{"id": a["id"], "name": a["name"]} for a in several],
                          Sources(replay.app_client(), Capabilities()), out.extend, emitted_at=AT, user=user)
    assert res.stopped is None and res.artists_done == 2
    assert {r["data"]["artist_id"] for r in by_type(out, "artist")} == {a["id"] for a in several}
    assert by_type(out, "top_track") and by_type(out, "audio_features") and by_type(out, "collection_member")


def test_listening_over_recorded_responses(replay):
    replay.route("POST", "/api/token", "spotify/java_token_refresh.json")
    replay.route("GET", "/v1/me/player/recently-played", "spotify/zmb3_recently_played.json")
    user = replay.user_client()
    plays = fetch_recently_played(user, None, max_pages=1)
    recs, _ = play_records(plays.items, "listener", emitted_at=AT)
    assert len(by_type(recs, "play")) == 20 and by_type(recs, "collection_member")


def test_followed_artists_until_the_empty_last_page(replay):
    replay.route("POST", "/api/token", "spotify/java_token_refresh.json")
    replay.route("GET", "/v1/me/following", "spotify/java_followed_artists.json",
                 "spotify/java_followed_artists_empty.json")
    got = fetch_followed(replay.user_client())
    assert got.calls == 2 and len(got.artists) == 1
    (rec,) = followed_records(got.artists, "listener", emitted_at=AT)
    assert rec["data"]["artist_id"] == load("spotify/java_followed_artists.json")["artists"]["items"][0]["id"]
