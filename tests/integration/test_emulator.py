"""The Spotify Web API emulator, driven through spotipy (and plain requests where spotipy hides details)."""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import urllib.parse

import pytest
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials

from local.emulator import SpotifyEmulator, load_catalog

pytestmark = pytest.mark.filterwarnings("ignore:You're using:DeprecationWarning")

NOW_MS = 1_795_000_000_000          # a fixed emulator clock (2026-11-18)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def server(catalog):
    emu = SpotifyEmulator(mode="extended", port=0, catalog=catalog).start()
    yield emu
    emu.stop()


@pytest.fixture()
def emu(server):
    """The shared emulator with default config and zeroed counters for each test."""
    server.configure(mode="extended", latency_ms=0, burst_429={}, burst_5xx={}, quota_exceeded=False,
                     rate_limit_per_30s=None, now_ms=NOW_MS)
    server.reset_stats()
    yield server
    server.configure(mode="extended", burst_429={}, burst_5xx={}, quota_exceeded=False, rate_limit_per_30s=None)


def client(emu: SpotifyEmulator, **kw) -> spotipy.Spotify:
    """spotipy exactly as production code would build it, pointed at the emulator."""
    class CC(SpotifyClientCredentials):
        OAUTH_TOKEN_URL = emu.token_url

    auth = CC(client_id="cid", client_secret="secret", cache_handler=MemoryCacheHandler())
    sp = spotipy.Spotify(auth_manager=auth, **kw)
    sp.prefix = emu.url + "/v1/"
    return sp


def token(emu, grant="client_credentials", **form) -> str:
    r = requests.post(emu.token_url, data={"grant_type": grant, **form}, auth=("cid", "secret"), timeout=5)
    r.raise_for_status()
    return r.json()["access_token"]


def get(emu, path, tok=None, **params):
    tok = tok or token(emu)
    return requests.get(emu.url + path, params=params, headers={"Authorization": f"Bearer {tok}"}, timeout=10)


# -- auth -------------------------------------------------------------------------------------------------------

def test_token_endpoint_and_bearer_required(emu):
    r = requests.post(emu.token_url, data={"grant_type": "client_credentials"}, auth=("", ""), timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"
    r = requests.post(emu.token_url, data={"grant_type": "client_credentials"}, auth=("a", "b"), timeout=5)
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert requests.get(emu.url + "/v1/artists/" + "a" * 22, timeout=5).status_code == 401
    bad = requests.get(emu.url + "/v1/me", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert bad.status_code == 401 and bad.json()["error"]["status"] == 401
    # /me needs a user token; a refresh keeps the refresh token (none in the answer), a code grant issues one
    assert get(emu, "/v1/me").status_code == 401
    r1 = requests.post(emu.token_url, data={"grant_type": "refresh_token", "refresh_token": "seed"},
                       auth=("a", "b"), timeout=5).json()
    r2 = requests.post(emu.token_url, data={"grant_type": "authorization_code", "code": authorize(emu, "a"),
                                            "redirect_uri": REDIRECT}, auth=("a", "b"), timeout=5).json()
    assert "refresh_token" not in r1 and r2["refresh_token"]
    assert get(emu, "/v1/me", tok=r2["access_token"]).json()["id"] == "sori-listener"


REDIRECT = "http://127.0.0.1:8888/callback"


def authorize(emu, client_id, redirect=REDIRECT, **params) -> str:
    """Play the browser on ``/authorize``: return the ``code`` its redirect carries (or fail on an error)."""
    q = {"client_id": client_id, "response_type": "code", "redirect_uri": redirect, "state": "s1", **params}
    r = requests.get(emu.url + "/authorize", params=q, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))
    assert r.headers["Location"].startswith(redirect + "?") and back["state"] == "s1", r.headers["Location"]
    assert "code" in back, back
    return back["code"]


def test_authorize_and_pkce_exchange_as_the_accounts_service(emu):
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    def exchange(code, **form):
        return requests.post(emu.token_url, data={"grant_type": "authorization_code", "code": code,
                                                  "redirect_uri": REDIRECT, "client_id": "cid", **form}, timeout=5)

    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    good = exchange(authorize(emu, "cid", **pkce), code_verifier=verifier)
    assert good.status_code == 200 and good.json()["refresh_token"], good.text  # PKCE: no client secret needed
    wrong = exchange(authorize(emu, "cid", **pkce), code_verifier="x" * 64)
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant",
                                                         "error_description": "code_verifier was incorrect"}
    code = authorize(emu, "cid", **pkce)
    assert exchange(code, code_verifier=verifier).status_code == 200
    assert exchange(code, code_verifier=verifier).json()["error"] == "invalid_grant"  # single use
    assert exchange("made-up", code_verifier=verifier).json()["error"] == "invalid_grant"
    other = exchange(authorize(emu, "cid", **pkce), code_verifier=verifier, redirect_uri="http://127.0.0.1:1/x")
    assert other.json() == {"error": "invalid_grant", "error_description": "Invalid redirect URI"}
    assert exchange(authorize(emu, "cid")).json()["error"] == "invalid_client"  # no PKCE and no secret
    # the consent page itself
    page = requests.get(emu.url + "/authorize", params={"client_id": "cid", "response_type": "code",
                                                       "redirect_uri": "http://localhost:8888/callback"},
                        allow_redirects=False, timeout=5)
    assert page.status_code == 400 and "Insecure redirect URI" in page.text and "Location" not in page.headers
    emu.configure(authorize="deny")
    try:
        r = requests.get(emu.url + "/authorize", params={"client_id": "cid", "response_type": "code",
                                                        "redirect_uri": REDIRECT, "state": "s"},
                         allow_redirects=False, timeout=5)
    finally:
        emu.configure(authorize="approve")
    assert r.status_code == 302 and r.headers["Location"] == REDIRECT + "?error=access_denied&state=s"


# -- search, artists, tracks ------------------------------------------------------------------------------------

def test_search_hangul_and_artist_filter(emu, catalog):
    sp = client(emu)
    bts = catalog.find_artist("BTS")
    res = sp.search("방탄소년단", type="artist,track", limit=5)
    assert res["artists"]["items"][0]["id"] == bts.id
    assert res["tracks"]["items"] and all(t["artists"][0]["id"] == bts.id for t in res["tracks"]["items"])
    res = sp.search('artist:"BLACKPINK"', type="track", limit=50)
    bp = catalog.find_artist("BLACKPINK")
    assert res["tracks"]["total"] == len(catalog.tracks_by_artist[bp.id])
    assert {t["artists"][0]["name"] for t in res["tracks"]["items"]} == {"BLACKPINK"}
    pops = [t["popularity"] for t in res["tracks"]["items"]]
    assert pops == sorted(pops, reverse=True)
    res = sp.search("drake", type="artist", limit=3)
    assert res["artists"]["items"][0]["name"] == "Drake"
    assert set(res["artists"]["items"][0]) >= {"followers", "genres", "images", "popularity", "uri", "href"}
    res = sp.search("love", type="track", limit=10)
    assert res["tracks"]["total"] > 10 and res["tracks"]["next"]
    assert sp.next(res["tracks"])["tracks"]["offset"] == 10
    r = get(emu, "/v1/search", q="love", type="track", limit=51)
    assert r.status_code == 400 and r.json() == {"error": {"status": 400, "message": "Invalid limit"}}


def test_artist_top_tracks_related_and_batches(emu, catalog):
    sp = client(emu)
    bts = catalog.find_artist("BTS")
    top = sp.artist_top_tracks(bts.id)["tracks"]
    assert len(top) == 10 and all(t["artists"][0]["id"] == bts.id for t in top)
    assert [t["popularity"] for t in top] == sorted((t["popularity"] for t in top), reverse=True)
    assert top[0]["album"]["images"][0]["url"].startswith("https://i.scdn.co/image/ab67616d0000b273")
    related = sp.artist_related_artists(bts.id)["artists"]
    assert len(related) == 20 and bts.id not in {a["id"] for a in related}
    ids = [a["id"] for a in related[:3]] + ["0" * 22]
    batch = sp.artists(ids)["artists"]
    assert [a and a["id"] for a in batch[:3]] == ids[:3] and batch[3] is None
    assert sp.artist(bts.id)["name"] == "BTS"
    tid = top[0]["id"]
    assert sp.track(tid)["id"] == tid and sp.tracks([tid])["tracks"][0]["id"] == tid
    assert get(emu, "/v1/artists", ids=",".join(["0" * 22] * 51)).status_code == 400
    assert get(emu, "/v1/artists/" + "0" * 22).status_code == 404


def test_audio_features(emu, catalog):
    sp = client(emu)
    tid = catalog.top_tracks(catalog.find_artist("TWICE").id)[0].id
    feats = sp.audio_features([tid, "0" * 22])
    assert feats[1] is None
    f = feats[0]
    assert f["id"] == tid and f["time_signature"] == 4 and f["type"] == "audio_features"
    assert set(f) >= {"danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
                      "instrumentalness", "liveness", "valence", "tempo", "duration_ms"}
    assert f["valence"] == catalog.tracks[tid].features["valence"]
    assert get(emu, f"/v1/audio-features/{tid}").json()["id"] == tid


# -- development mode --------------------------------------------------------------------------------------------

def test_development_mode_rules(emu, catalog):
    emu.mode = "development"
    bts = catalog.find_artist("BTS")
    tid = catalog.top_tracks(bts.id)[0].id
    tok = token(emu)
    expect = {
        f"/v1/audio-features?ids={tid}": 403, f"/v1/audio-features/{tid}": 403,
        f"/v1/artists/{bts.id}/related-artists": 404, f"/v1/artists/{bts.id}/top-tracks": 403,
        f"/v1/artists?ids={bts.id}": 403, f"/v1/tracks?ids={tid}": 403,
        f"/v1/recommendations?seed_artists={bts.id}": 404,
        "/v1/playlists/37i9dQZEVXbNxXF4SkHj9F": 404,          # editorial Top 50
    }
    for path, status in expect.items():
        r = get(emu, path, tok=tok)
        assert r.status_code == status, path
        assert r.json()["error"]["status"] == status
    own = emu.listener.playlist_ids[0]
    other = next(p for p in catalog.playlists if not p.startswith("37i9dQZ") and p not in emu.listener.playlist_ids)
    assert get(emu, f"/v1/playlists/{own}/tracks", tok=tok).status_code == 403
    assert get(emu, f"/v1/playlists/{other}/items", tok=tok).status_code == 403
    items = get(emu, f"/v1/playlists/{own}/items", tok=tok).json()["items"]
    assert items and "popularity" not in items[0]["item"]
    # stripped fields, genres kept, search limit 10
    sp = client(emu)
    a = sp.artist(bts.id)
    assert "followers" not in a and "popularity" not in a and "k-pop" in a["genres"]
    assert "popularity" not in sp.track(tid)
    res = sp.search("BTS", type="artist,track", limit=10)
    assert all("popularity" not in x for x in res["artists"]["items"] + res["tracks"]["items"])
    r = get(emu, "/v1/search", tok=tok, q="BTS", type="track", limit=11)
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid limit"
    with pytest.raises(spotipy.SpotifyException) as exc:
        client(emu, retries=0).artist_top_tracks(bts.id)
    assert exc.value.http_status == 403
    emu.mode = "extended"
    assert "popularity" in sp.artist(bts.id)


# -- playlists, charts -------------------------------------------------------------------------------------------

def test_playlist_items_paging(emu, catalog):
    sp = client(emu)
    pid = max(catalog.playlists, key=lambda p: len(catalog.playlists[p].track_ids))
    n = len(catalog.playlists[pid].track_ids)
    assert n > 30
    page = sp.playlist_items(pid, limit=30)
    got = [it["item"]["id"] for it in page["items"]]
    assert page["total"] == n and page["next"] and "track" not in page["items"][0]   # Feb 2026: `item` only
    while page["next"]:
        page = sp.next(page)
        got += [it["item"]["id"] for it in page["items"]]
    assert got == list(catalog.playlists[pid].track_ids)
    assert get(emu, f"/v1/playlists/{pid}/tracks", limit=101).status_code == 400
    assert get(emu, f"/v1/playlists/{pid}/tracks", limit=5).json()["items"][0]["track"]["id"] == got[0]


def test_top50_chart_playlist(emu, catalog):
    sp = client(emu)
    pl = sp.playlist("37i9dQZEVXbNxXF4SkHj9F")          # Top 50 - South Korea
    assert pl["name"] == "Top 50 - South Korea" and pl["owner"]["id"] == "spotify"
    ids = [it["track"]["id"] for it in pl["tracks"]["items"]]
    assert len(ids) == 50 == len(set(ids)) and all(i in catalog.tracks for i in ids)
    korean = sum(catalog.is_korean(catalog.tracks[i].artist_id) for i in ids)
    assert korean >= 10                                   # KR leans on the K-pop acts
    again = sp.playlist_items("37i9dQZEVXbNxXF4SkHj9F")
    assert [it["item"]["id"] for it in again["items"]] == ids          # deterministic within a week


def test_chart_csv_format(emu, catalog):
    r = requests.get(emu.chart_csv_url("kr", "2026-03-05"), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    raw = r.content
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
    text = raw.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == ["rank", "uri", "artist_names", "track_name", "source", "peak_rank", "previous_rank",
                             "weeks_on_chart", "streams"]
    assert len(rows) == 200 and [int(x["rank"]) for x in rows] == list(range(1, 201))
    assert all(x["uri"].startswith("spotify:track:") and x["uri"][14:] in catalog.tracks for x in rows)
    streams = [int(x["streams"]) for x in rows]
    assert streams == sorted(streams, reverse=True)
    assert any(", " in x["artist_names"] for x in rows)                     # featured artists, quoted
    assert all(int(x["peak_rank"]) <= int(x["rank"]) for x in rows)
    assert requests.get(emu.chart_csv_url("global", "2026-03-05"), timeout=10).status_code == 200
    assert requests.get(emu.chart_csv_url("zz", "2026-03-05"), timeout=10).status_code == 404
    assert r.content == requests.get(emu.chart_csv_url("kr", "2026-03-05"), timeout=10).content


# -- the listening user ------------------------------------------------------------------------------------------

def test_recently_played_cursor_semantics(emu):
    sp = emu.spotipy_client(user=True)
    first = sp.current_user_recently_played(limit=50)
    items = first["items"]
    assert 0 < len(items) <= 50 and items[0]["track"]["id"] and items[0]["context"]
    stamps = [i["played_at"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    cursor = int(first["cursors"]["after"])
    assert first["cursors"]["after"] == str(emu.listener.history(NOW_MS)[0][0])
    # six hours later: only newer plays, none missing, none repeated
    later = NOW_MS + 6 * 3600 * 1000
    emu.configure(now_ms=later)
    second = sp.current_user_recently_played(limit=50, after=cursor)
    expected = [p for p in emu.listener.history(later) if p[0] > cursor]
    assert expected, "the synthetic user listens every couple of hours"
    got = second["items"]
    assert len(got) == len(expected)
    assert [i["track"]["id"] for i in got] == [p[1] for p in expected]
    assert not {i["played_at"] for i in got} & set(stamps)
    assert int(second["cursors"]["after"]) == expected[0][0]
    # before-pagination walks back without overlap
    page1 = sp.current_user_recently_played(limit=10)
    page2 = sp.next(page1)
    assert page1["items"][-1]["played_at"] > page2["items"][0]["played_at"]
    # nothing newer yet
    assert sp.current_user_recently_played(after=int(second["cursors"]["after"]))["items"] == []


def test_following_and_my_playlists(emu):
    sp = emu.spotipy_client(user=True)
    page = sp.current_user_followed_artists(limit=15)["artists"]
    ids = [a["id"] for a in page["items"]]
    while page["next"]:
        page = sp.current_user_followed_artists(limit=15, after=page["cursors"]["after"])["artists"]
        ids += [a["id"] for a in page["items"]]
    assert page["total"] == len(ids) == len(set(ids)) == 40
    mine = sp.current_user_playlists()["items"]
    assert 4 <= len(mine) <= 6
    assert all(p["owner"]["id"] == "sori-listener" and not p["id"].startswith("37i9dQZF") for p in mine)


# -- faults and counters -----------------------------------------------------------------------------------------

def test_429_burst_with_retry_after(emu, catalog):
    aid = catalog.find_artist("BTS").id
    tok = token(emu)
    emu.configure(burst_429={"count": 1, "retry_after": 7})
    r = get(emu, f"/v1/artists/{aid}", tok=tok)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert get(emu, f"/v1/artists/{aid}", tok=tok).status_code == 200
    # spotipy (urllib3) honours Retry-After and succeeds after the burst
    requests.post(emu.url + "/_emulator/config", json={"burst_429": {"count": 1, "retry_after": 1}}, timeout=5)
    assert client(emu).artist(aid)["id"] == aid
    emu.configure(burst_5xx={"count": 2, "status": 503})
    assert client(emu, backoff_factor=0).artist(aid)["id"] == aid
    assert emu.stats()["requests"]["GET /v1/artists/{id}"] == 2 + 2 + 2 + 1


def test_rolling_window_rate_limit(emu, catalog):
    aid = catalog.find_artist("BTS").id
    tok = token(emu)
    emu.configure(rate_limit_per_30s=3)
    codes = [get(emu, f"/v1/artists/{aid}", tok=tok) for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429]
    assert 1 <= int(codes[-1].headers["Retry-After"]) <= 30


def test_quota_exceeded_body(emu, catalog):
    tok = token(emu)
    emu.configure(quota_exceeded=True)
    r = get(emu, "/v1/artists/" + catalog.find_artist("BTS").id, tok=tok)
    assert r.status_code == 429
    assert r.json() == {"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}}
    assert requests.get(emu.reccobeats_url + "/audio-features?ids=" + "0" * 22, timeout=5).status_code == 200


def test_request_counters(emu, catalog):
    sp = client(emu)
    bts = catalog.find_artist("BTS").id
    sp.artist_top_tracks(bts)
    sp.artist_top_tracks(bts)
    sp.search("BTS", type="artist", limit=1)
    get(emu, "/v1/artists/" + "0" * 22)          # 404 counts too
    requests.get(emu.url + "/_emulator/config", timeout=5)
    stats = requests.get(emu.url + "/_emulator/stats", timeout=5).json()
    req = stats["requests"]
    assert req["GET /v1/artists/{id}/top-tracks"] == 2 and req["GET /v1/search"] == 1
    assert req["GET /v1/artists/{id}"] == 1 and req["POST /api/token"] == 2
    assert stats["total"] == sum(req.values()) and not any("_emulator" in k for k in req)
    assert requests.post(emu.url + "/_emulator/reset", timeout=5).json()["total"] == 0
    assert emu.stats() == {"requests": {}, "total": 0}


# -- ReccoBeats ----------------------------------------------------------------------------------------------------

def test_reccobeats_gaps_and_cap(emu, catalog):
    known = list(catalog.tracks)[:3]
    r = requests.get(emu.reccobeats_url + "/audio-features", params={"ids": ",".join([*known, "0" * 22])},
                     timeout=5)
    content = r.json()["content"]
    assert r.status_code == 200 and len(content) == 3
    assert [c["href"].rsplit("/", 1)[-1] for c in content] == known
    assert all("time_signature" not in c and len(c["id"]) == 36 and "valence" in c for c in content)
    r = requests.get(emu.reccobeats_url + "/audio-features", params={"ids": ",".join(list(catalog.tracks)[:41])},
                     timeout=5)
    assert r.status_code == 400
    emu.mode = "development"
    assert requests.get(emu.reccobeats_url + "/audio-features", params={"ids": known[0]}, timeout=5).ok
