"""The emulated HTTP API: response objects, paging, the endpoint handlers, error shapes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qs, urlencode, urlsplit

# ----------------------------------------------------------------------------------------------------------------
# HTTP server
# ----------------------------------------------------------------------------------------------------------------
from local.emulator.catalog import (
    BASE62,
    EDITORIAL_PREFIX,
    FEATURE_KEYS,
    Album,
    Artist,
    Track,
    _h,
    album_image_url,
    artist_image_url,
)
from local.emulator.charts import _LABELS
from local.emulator.listener import USER_ID

if TYPE_CHECKING:
    from local.emulator.catalog import Catalog
    from local.emulator.charts import Charts
    from local.emulator.listener import Listener


class ApiError(Exception):
    def __init__(self, status: int, message: str, reason: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.reason, self.headers = status, message, reason, headers or {}

    def body(self) -> dict:
        err = {"status": self.status, "message": self.message}
        if self.reason:
            err["reason"] = self.reason
        return {"error": err}


def _redirect_allowed(uri: str) -> bool:
    """HTTPS, or HTTP to an explicit loopback address (``127.0.0.1``/``[::1]``; never ``localhost``).

    >>> [_redirect_allowed(u) for u in ("https://a.example/cb", "http://127.0.0.1:8080/callback",
    ...                                 "http://localhost:8080/callback", "http://a.example/cb", "")]
    [True, True, False, False, False]
    """
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1")


class _Raw:
    """A non-JSON response."""

    def __init__(self, body: bytes, content_type: str, status: int = 200, headers: dict | None = None):
        self.body, self.content_type, self.status, self.headers = body, content_type, status, headers or {}


class SpotifyApi:
    """The Web API endpoint handlers and object builders (a mixin of :class:`SpotifyEmulator`)."""

    if TYPE_CHECKING:  # provided by SpotifyEmulator (local/emulator/server.py)
        catalog: Catalog
        charts: Charts
        listener: Listener
        mode: str
        _lock: threading.Lock
        _codes: dict[str, dict]

        @property
        def url(self) -> str: ...

        def now_ms(self) -> int: ...

        def config(self) -> dict[str, Any]: ...

    # -- object builders -----------------------------------------------------------------------------------------
    def _href(self, kind: str, id_: str) -> str:
        return f"{self.url}/v1/{kind}s/{id_}"

    def artist_simple(self, a: Artist) -> dict:
        return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{a.id}"},
                "href": self._href("artist", a.id), "id": a.id, "name": a.name, "type": "artist",
                "uri": f"spotify:artist:{a.id}"}

    def artist_full(self, a: Artist) -> dict:
        d = self.artist_simple(a)
        d.update({"followers": {"href": None, "total": a.followers}, "genres": list(a.genres),
                  "images": [{"url": artist_image_url(a.id, s), "height": s, "width": s} for s in (640, 320, 160)],
                  "popularity": a.popularity})
        return dict(sorted(d.items()))

    def album_simple(self, al: Album) -> dict:
        cat = self.catalog
        tids = cat.tracks_by_album.get(al.id, ())
        artist = cat.artists[cat.tracks[tids[0]].artist_id] if tids else None
        n = len(tids)
        return {"album_type": "single" if n <= 1 else "album", "total_tracks": n,
                "external_urls": {"spotify": f"https://open.spotify.com/album/{al.id}"},
                "href": self._href("album", al.id), "id": al.id,
                "images": [{"url": album_image_url(al.id, s), "height": s, "width": s} for s in (640, 300, 64)],
                "name": al.name, "release_date": al.release_date,
                "release_date_precision": al.release_date_precision, "type": "album",
                "uri": f"spotify:album:{al.id}", "artists": [self.artist_simple(artist)] if artist else [],
                "is_playable": True}

    def track_full(self, t: Track) -> dict:
        tids = self.catalog.tracks_by_album.get(t.album.id, (t.id,))
        artists = [self.artist_simple(a) for a in self.catalog.credited_artists(t)]
        return {"album": self.album_simple(t.album), "artists": artists, "disc_number": 1,
                "duration_ms": t.duration_ms, "explicit": False,
                "external_ids": {"isrc": "QZ" + hashlib.sha1(t.id.encode()).hexdigest()[:10].upper()},
                "external_urls": {"spotify": f"https://open.spotify.com/track/{t.id}"},
                "href": self._href("track", t.id), "id": t.id, "is_local": False, "is_playable": True,
                "name": t.name, "popularity": t.popularity, "preview_url": None,
                "track_number": (tids.index(t.id) + 1) if t.id in tids else 1, "type": "track",
                "uri": f"spotify:track:{t.id}", **self._relinking(t)}

    def _relinking(self, t: Track) -> dict:
        """Like the real API, a few tracks come relinked (``linked_from``: the id asked for in another market) or
        restricted (``restrictions``, not playable) — 1 in 50 each, chosen by id."""
        n = _h("relink", t.id) % 50
        if n == 0:
            other = hashlib.sha256(("linked:" + t.id).encode()).hexdigest()
            lid = "".join(_B62[int(other[i:i + 2], 16) % 62] for i in range(0, 44, 2))
            return {"linked_from": {"external_urls": {"spotify": f"https://open.spotify.com/track/{lid}"},
                                    "href": self._href("track", lid), "id": lid, "type": "track",
                                    "uri": f"spotify:track:{lid}"}}
        if n == 1:
            return {"is_playable": False, "restrictions": {"reason": "market"}}
        return {}

    def features(self, t: Track) -> dict:
        d = _with_no_key(t)
        d.update({"type": "audio_features", "id": t.id, "uri": f"spotify:track:{t.id}",
                  "track_href": self._href("track", t.id),
                  "analysis_url": f"{self.url}/v1/audio-analysis/{t.id}", "duration_ms": t.duration_ms})
        return d

    def _owner(self, pid: str) -> dict:
        if pid in self.listener.playlist_ids:
            return {"display_name": "sori listener", "external_urls": {"spotify": f"https://open.spotify.com/user/{USER_ID}"},
                    "href": f"{self.url}/v1/users/{USER_ID}", "id": USER_ID, "type": "user",
                    "uri": f"spotify:user:{USER_ID}"}
        if pid.startswith(EDITORIAL_PREFIX):
            return {"display_name": "Spotify", "external_urls": {"spotify": "https://open.spotify.com/user/spotify"},
                    "href": f"{self.url}/v1/users/spotify", "id": "spotify", "type": "user",
                    "uri": "spotify:user:spotify"}
        uid = "user" + str(_h("owner", pid) % 10**9)
        return {"display_name": None, "external_urls": {"spotify": f"https://open.spotify.com/user/{uid}"},
                "href": f"{self.url}/v1/users/{uid}", "id": uid, "type": "user", "uri": f"spotify:user:{uid}"}

    def _playlist_meta(self, pid: str) -> tuple[str, str, list[str], str]:
        """(name, description, track ids, added_at) of a catalog or chart playlist."""
        chart = self.charts.by_playlist.get(pid)
        if chart is not None:
            day = dt.datetime.fromtimestamp(self.now_ms() / 1000, dt.UTC).date()
            monday = day - dt.timedelta(days=day.weekday())
            return (f"Top 50 - {chart.name}",
                    f"Your weekly update of the most played tracks right now - {chart.name}.",
                    self.charts.top50(chart.country, day), monday.isoformat() + "T05:00:00Z")
        p = self.catalog.playlists.get(pid)
        if p is None:
            raise ApiError(404, "Resource not found")
        return p.name, self.catalog.playlist_description(pid), list(p.track_ids), "2020-01-02T00:00:00Z"

    def _playlist_simple(self, pid: str) -> dict:
        name, desc, tids, _ = self._playlist_meta(pid)
        key = "items" if self.mode == "development" else "tracks"
        return {"collaborative": False, "description": desc,
                "external_urls": {"spotify": f"https://open.spotify.com/playlist/{pid}"},
                "href": self._href("playlist", pid), "id": pid,
                "images": [{"url": "https://mosaic.scdn.co/640/" + hashlib.sha1(pid.encode()).hexdigest(),
                            "height": 640, "width": 640}],
                "name": name, "owner": self._owner(pid), "primary_color": None, "public": True,
                "snapshot_id": base64.b64encode(hashlib.sha1((pid + str(len(tids))).encode()).digest()).decode(),
                key: {"href": self._href("playlist", pid) + "/" + key, "total": len(tids)}, "type": "playlist",
                "uri": f"spotify:playlist:{pid}"}

    # -- paging helpers ------------------------------------------------------------------------------------------
    def _page(self, ctx: dict, items: list, total: int, limit: int, offset: int, base: str | None = None) -> dict:
        base = base or (self.url + ctx["path"])
        q = {k: v for k, v in ctx["query"].items() if k not in ("limit", "offset")}

        def link(off):
            return base + "?" + urlencode({**q, "offset": off, "limit": limit})
        return {"href": link(offset), "items": items, "limit": limit,
                "next": link(offset + limit) if offset + limit < total else None, "offset": offset,
                "previous": link(max(0, offset - limit)) if offset > 0 else None, "total": total}

    @staticmethod
    def _int(ctx: dict, name: str, default: int, lo: int, hi: int, message: str = "Invalid limit") -> int:
        raw = ctx["query"].get(name)
        if raw in (None, ""):
            return default
        try:
            v = int(raw)
        except ValueError:
            raise ApiError(400, message) from None
        if not lo <= v <= hi:
            raise ApiError(400, message)
        return v

    def _ids(self, ctx: dict, cap: int) -> list[str]:
        raw = ctx["query"].get("ids")
        if not raw:
            raise ApiError(400, "invalid request: missing ids")
        ids = [i.strip().split(":")[-1] for i in raw.split(",") if i.strip()]
        if len(ids) > cap:
            raise ApiError(400, "Too many ids requested")
        return ids

    def _dev(self) -> bool:
        return self.mode == "development"

    def _get_artist(self, aid: str) -> Artist:
        if not BASE62.match(aid):
            raise ApiError(400, "Invalid base62 id")
        a = self.catalog.artists.get(aid)
        if a is None:
            raise ApiError(404, "Resource not found")
        return a

    def _get_track(self, tid: str) -> Track:
        if not BASE62.match(tid):
            raise ApiError(400, "Invalid base62 id")
        t = self.catalog.tracks.get(tid)
        if t is None:
            raise ApiError(404, "Resource not found")
        return t

    # -- endpoint handlers ---------------------------------------------------------------------------------------
    def _token(self, ctx):
        form = {k: v[-1] for k, v in parse_qs(ctx["body"].decode("utf-8", "replace")).items()}
        cid = form.get("client_id", "")
        secret = form.get("client_secret", "")
        auth = ctx["headers"].get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                cid = secret = ""
        grant = form.get("grant_type", "")

        def fail(status: int, error: str, desc: str) -> NoReturn:
            raise _TokenError(status, {"error": error, "error_description": desc})
        if grant not in ("client_credentials", "refresh_token", "authorization_code"):
            fail(400, "unsupported_grant_type", f"grant_type parameter is missing or invalid: {grant!r}")
        if grant == "client_credentials" and (not cid or not secret):
            fail(400, "invalid_client", "Invalid client")
        if grant != "client_credentials" and not cid:
            fail(400, "invalid_client", "Invalid client")
        if grant == "refresh_token" and not form.get("refresh_token"):
            fail(400, "invalid_request", "refresh_token must be supplied")
        if grant == "authorization_code":
            self._redeem_code(form, cid, secret, fail)
        kind = "cc" if grant == "client_credentials" else "user"
        exp = int(time.time()) + 3600
        out = {"access_token": f"EMU{kind}.{exp}.{secrets.token_urlsafe(24)}", "token_type": "Bearer",
               "expires_in": 3600}
        if kind == "user":
            out["scope"] = form.get("scope") or ("user-read-recently-played user-follow-read "
                                                 "playlist-read-private")
            if grant == "authorization_code" or self.config()["rotate_refresh_token"]:
                # a refresh keeps its token unless configured to rotate (the real service may do either)
                out["refresh_token"] = "EMUrt." + secrets.token_urlsafe(32)
        return out

    def _authorize(self, ctx):
        """``GET /authorize``: the consent page, answered at once as the user would (config ``authorize``).

        As the accounts service: a missing client or a redirect URI that is neither HTTPS nor an explicit loopback
        address (``localhost`` is refused since 2025) gets an error page and no redirect; otherwise a 302 back to
        the redirect URI with ``code`` (single use, 10 minutes) and ``state``, or ``error=access_denied`` /
        ``unsupported_response_type`` / ``invalid_request`` (a PKCE method other than S256).
        """
        q = ctx["query"]
        cid, redirect = q.get("client_id", ""), q.get("redirect_uri", "")
        if not cid:
            return _Raw(b"INVALID_CLIENT: Invalid client", "text/plain; charset=utf-8", 400)
        if not _redirect_allowed(redirect):
            return _Raw(b"INVALID_CLIENT: Insecure redirect URI", "text/plain; charset=utf-8", 400)

        def back(**params: str) -> _Raw:
            if q.get("state"):
                params["state"] = q["state"]
            loc = redirect + ("&" if "?" in redirect else "?") + urlencode(params)
            return _Raw(b"", "text/html; charset=utf-8", 302, headers={"Location": loc})

        if q.get("response_type") != "code":
            return back(error="unsupported_response_type")
        challenge, method = q.get("code_challenge", ""), q.get("code_challenge_method", "")
        if challenge and method != "S256":
            return back(error="invalid_request")
        if self.config()["authorize"] == "deny":
            return back(error="access_denied")
        code = "EMUcode." + secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = {"client_id": cid, "redirect_uri": redirect, "challenge": challenge,
                                 "scope": q.get("scope", ""), "expires": time.time() + 600}
        return back(code=code)

    def _redeem_code(self, form: dict, cid: str, secret: str, fail: Callable[[int, str, str], NoReturn]) -> None:
        """An authorization code grant: the code is single use and bound to its client, redirect URI and PKCE
        challenge (then no client secret is needed); otherwise the client secret is."""
        with self._lock:
            entry = self._codes.pop(form.get("code", ""), None)
        if entry is None or entry["expires"] < time.time():
            fail(400, "invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri", "") != entry["redirect_uri"]:
            fail(400, "invalid_grant", "Invalid redirect URI")
        if cid != entry["client_id"]:
            fail(400, "invalid_client", "Invalid client")
        if entry["challenge"]:
            verifier = form.get("code_verifier", "")
            if not verifier:
                fail(400, "invalid_request", "code_verifier required")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != entry["challenge"]:
                fail(400, "invalid_grant", "code_verifier was incorrect")
        elif not secret:
            fail(400, "invalid_client", "Invalid client secret")
        form.setdefault("scope", entry["scope"])

    def _search(self, ctx):
        q = ctx["query"].get("q", "")
        types = [t.strip() for t in ctx["query"].get("type", "").split(",") if t.strip()]
        if not q.strip():
            raise ApiError(400, "No search query")
        if not types:
            raise ApiError(400, "Missing parameter type")
        allowed = {"artist", "track", "album", "playlist", "show", "episode", "audiobook"}
        if any(t not in allowed for t in types):
            raise ApiError(400, "Bad search type field")
        limit = self._int(ctx, "limit", 10 if self._dev() else 20, 0, 10 if self._dev() else 50)
        offset = self._int(ctx, "offset", 0, 0, 1000, "Invalid offset")
        out = {}
        cat = self.catalog
        for t in types:
            found: Sequence[object]
            if t == "artist":
                found = cat.search_artists(q)
                items = [self.artist_full(a) for a in found[offset:offset + limit]]
            elif t == "track":
                found = cat.search_tracks(q)
                items = [self.track_full(x) for x in found[offset:offset + limit]]
            elif t == "album":
                seen: set[str] = set()
                albums: list[Album] = []
                for x in cat.search_tracks(q):
                    if x.album.id not in seen:
                        seen.add(x.album.id)
                        albums.append(x.album)
                found = albums
                items = [self.album_simple(a) for a in albums[offset:offset + limit]]
            elif t == "playlist":
                found = cat.search_playlists(q, editorial=not self._dev())
                items = [self._playlist_simple(p.id) for p in found[offset:offset + limit]]
            else:
                found, items = [], []
            out[t + "s"] = self._page(ctx, items, min(len(found), 1000), limit, offset, self.url + "/v1/search")
        return out

    def _artist(self, ctx, aid):
        return self.artist_full(self._get_artist(aid))

    def _artists(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 50)
        return {"artists": [self.artist_full(self.catalog.artists[i]) if i in self.catalog.artists else None
                            for i in ids]}

    def _top_tracks(self, ctx, aid):
        if self._dev():
            raise ApiError(403, "Forbidden")
        a = self._get_artist(aid)
        return {"tracks": [self.track_full(t) for t in self.catalog.top_tracks(a.id, 10)]}

    def _related(self, ctx, aid):
        if self._dev():
            raise ApiError(404, "Not found")
        a = self._get_artist(aid)
        return {"artists": [self.artist_full(x) for x in self.catalog.related_artists(a.id, 20)]}

    def _artist_albums(self, ctx, aid):
        a = self._get_artist(aid)
        limit = self._int(ctx, "limit", 20, 1, 50)
        offset = self._int(ctx, "offset", 0, 0, 10_000, "Invalid offset")
        seen, albums = set(), []
        for tid in self.catalog.tracks_by_artist.get(a.id, ()):
            al = self.catalog.tracks[tid].album
            if al.id not in seen:
                seen.add(al.id)
                albums.append(al)
        albums.sort(key=lambda al: (al.release_date, al.id), reverse=True)
        items = []
        for al in albums[offset:offset + limit]:
            d = self.album_simple(al)
            d["album_group"] = d["album_type"]
            items.append(d)
        return self._page(ctx, items, len(albums), limit, offset)

    def _album_full(self, al: Album) -> dict:
        d = self.album_simple(al)
        tracks = []
        for tid in self.catalog.tracks_by_album.get(al.id, ()):
            t = self.track_full(self.catalog.tracks[tid])
            for k in ("album", "popularity", "external_ids"):
                t.pop(k, None)
            tracks.append(t)
        d.update({"genres": [], "label": _LABELS[_h("label", al.id) % len(_LABELS)], "popularity":
                  max((self.catalog.tracks[t].popularity for t in self.catalog.tracks_by_album.get(al.id, ())),
                      default=0),
                  "copyrights": [], "external_ids": {"upc": str(_h("upc", al.id) % 10**12).zfill(12)},
                  "tracks": {"href": self._href("album", al.id) + "/tracks", "items": tracks, "limit": 50,
                             "next": None, "offset": 0, "previous": None, "total": len(tracks)}})
        return d

    def _album(self, ctx, alid):
        if not BASE62.match(alid):
            raise ApiError(400, "Invalid base62 id")
        al = self.catalog.albums.get(alid)
        if al is None:
            raise ApiError(404, "Resource not found")
        return self._album_full(al)

    def _albums(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 20)
        return {"albums": [self._album_full(self.catalog.albums[i]) if i in self.catalog.albums else None
                           for i in ids]}

    def _track(self, ctx, tid):
        return self.track_full(self._get_track(tid))

    def _tracks(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 50)
        return {"tracks": [self.track_full(self.catalog.tracks[i]) if i in self.catalog.tracks else None
                           for i in ids]}

    def _features_many(self, ctx):
        if self._dev():
            raise ApiError(403, "Forbidden")
        ids = self._ids(ctx, 100)
        return {"audio_features": [self.features(self.catalog.tracks[i]) if i in self.catalog.tracks else None
                                   for i in ids]}

    def _features_one(self, ctx, tid):
        if self._dev():
            raise ApiError(403, "Forbidden")
        return self.features(self._get_track(tid))

    def _recommendations(self, ctx):
        if self._dev():
            raise ApiError(404, "Not found")
        q = ctx["query"]
        limit = self._int(ctx, "limit", 20, 1, 100)
        seeds_a = [s for s in q.get("seed_artists", "").split(",") if s]
        seeds_t = [s for s in q.get("seed_tracks", "").split(",") if s]
        if not seeds_a and not seeds_t and not q.get("seed_genres"):
            raise ApiError(400, "Missing required parameter: seed_artists, seed_genres or seed_tracks")
        cat = self.catalog
        artists = [a for a in seeds_a if a in cat.artists]
        artists += [cat.tracks[t].artist_id for t in seeds_t if t in cat.tracks]
        pool: list[str] = []
        for a in artists:
            for r in cat.related_artists(a, 10):
                pool.extend(cat.tracks_by_artist.get(r.id, ())[:3])
        seen, out = set(seeds_t), []
        for tid in pool:
            if tid not in seen:
                seen.add(tid)
                out.append(tid)
        out.sort(key=lambda t: _h("rec", ",".join(artists), t))
        return {"seeds": [{"id": a, "type": "ARTIST", "href": self._href("artist", a), "initialPoolSize": len(pool),
                           "afterFilteringSize": len(out), "afterRelinkingSize": len(out)} for a in seeds_a]
                + [{"id": t, "type": "TRACK", "href": self._href("track", t), "initialPoolSize": len(pool),
                    "afterFilteringSize": len(out), "afterRelinkingSize": len(out)} for t in seeds_t],
                "tracks": [self.track_full(cat.tracks[t]) for t in out[:limit]]}

    def _check_playlist_access(self, pid: str, items_endpoint: bool) -> None:
        if pid not in self.catalog.playlists and pid not in self.charts.by_playlist:
            raise ApiError(404, "Resource not found")
        if self._dev():
            if pid.startswith(EDITORIAL_PREFIX):
                raise ApiError(404, "Resource not found")
            if items_endpoint and pid not in self.listener.playlist_ids:
                raise ApiError(403, "Forbidden")

    def _playlist_items_page(self, ctx, pid: str, new_shape: bool) -> dict:
        limit = self._int(ctx, "limit", 100, 1, 100)
        offset = self._int(ctx, "offset", 0, 0, 100_000, "Invalid offset")
        _, _, tids, added_at = self._playlist_meta(pid)
        owner = self._owner(pid)
        added_by = {k: owner[k] for k in ("external_urls", "href", "id", "type", "uri")}
        entries = self._awkward_entries(pid, list(tids))
        items = []
        for e in entries[offset:offset + limit]:
            obj = self.track_full(self.catalog.tracks[e]) if isinstance(e, str) else e
            it = {"added_at": added_at, "added_by": added_by, "is_local": bool(obj and obj.get("is_local")),
                  "primary_color": None, "video_thumbnail": {"url": None}}
            it["item" if new_shape else "track"] = obj  # Feb-2026 `/items` pages carry `item` only
            items.append(it)
        return self._page(ctx, items, len(entries), limit, offset)

    def _awkward_entries(self, pid: str, tids: list) -> list:
        """The listener's first playlist holds what real playlists do: a removed track (``null``) at position 2,
        a podcast episode at 3 and a local file at 4 (its tracks follow in order)."""
        if not self.listener.playlist_ids or pid != self.listener.playlist_ids[0] or not tids:
            return tids
        return [*tids[:1], None, self._episode(pid), self._local_file(pid), *tids[1:]]

    def _episode(self, pid: str) -> dict:
        eid = "".join(_B62[(_h("ep", pid) >> (6 * i)) % 62] for i in range(22))
        return {"audio_preview_url": None, "description": "An episode saved to a playlist", "duration_ms": 1_800_000,
                "explicit": False, "external_urls": {"spotify": f"https://open.spotify.com/episode/{eid}"},
                "href": self._href("episode", eid), "id": eid, "images": [], "is_externally_hosted": False,
                "is_playable": True, "language": "ko", "languages": ["ko"], "name": "sori talk",
                "release_date": "2026-01-05", "release_date_precision": "day", "type": "episode",
                "uri": f"spotify:episode:{eid}", "show": self._show(eid)}

    def _show(self, eid: str) -> dict:
        sid = eid[::-1]
        return {"available_markets": [], "copyrights": [], "description": "sori talk", "explicit": False,
                "external_urls": {"spotify": f"https://open.spotify.com/show/{sid}"}, "href": self._href("show", sid),
                "id": sid, "images": [], "is_externally_hosted": False, "languages": ["ko"],
                "media_type": "audio", "name": "sori talk", "publisher": "sori", "total_episodes": 1,
                "type": "show", "uri": f"spotify:show:{sid}"}

    @staticmethod
    def _local_file(pid: str) -> dict:
        return {"album": {"album_type": None, "artists": [], "available_markets": [], "external_urls": {},
                          "href": None, "id": None, "images": [], "name": "", "release_date": None,
                          "release_date_precision": None, "type": "album", "uri": None},
                "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Local Artist", "type": "artist",
                             "uri": None}],
                "available_markets": [], "disc_number": 0, "duration_ms": 180_000, "explicit": False,
                "external_ids": {}, "external_urls": {}, "href": None, "id": None, "is_local": True,
                "name": "My Recording", "popularity": 0, "preview_url": None, "track_number": 0, "type": "track",
                "uri": "spotify:local:Local+Artist::My+Recording:180"}

    def _playlist(self, ctx, pid):
        self._check_playlist_access(pid, items_endpoint=False)
        d = self._playlist_simple(pid)
        d["followers"] = {"href": None, "total": 1000 + _h("followers", pid) % 5_000_000}
        if self._dev():
            # Feb-2026: `tracks` -> `items`; items only for the user's own playlists
            if pid in self.listener.playlist_ids:
                d["items"] = self._playlist_items_page({**ctx, "path": f"/v1/playlists/{pid}/items",
                                                        "query": {}}, pid, True)
        else:
            d["tracks"] = self._playlist_items_page({**ctx, "path": f"/v1/playlists/{pid}/tracks", "query": {}},
                                                    pid, False)
        return d

    def _playlist_tracks(self, ctx, pid):
        if self._dev():  # removed for development-mode apps in Feb 2026: the real API answers 403
            raise ApiError(403, "Forbidden")
        self._check_playlist_access(pid, items_endpoint=True)
        return self._playlist_items_page(ctx, pid, False)

    def _playlist_items(self, ctx, pid):
        self._check_playlist_access(pid, items_endpoint=True)
        return self._playlist_items_page(ctx, pid, True)

    def _me(self, ctx):
        """The current user; a development-mode app gets no ``country``, ``product``, ``followers`` (nor the
        explicit-content settings) since Feb 2026."""
        me = self._me_full()
        if self._dev():
            for k in ("country", "product", "followers", "explicit_content", "email"):
                me.pop(k, None)
        return me

    def _me_full(self) -> dict:
        return {"country": "KR", "display_name": "sori listener", "explicit_content":
                {"filter_enabled": False, "filter_locked": False},
                "external_urls": {"spotify": f"https://open.spotify.com/user/{USER_ID}"},
                "followers": {"href": None, "total": 3}, "href": f"{self.url}/v1/users/{USER_ID}", "id": USER_ID,
                "images": [], "product": "premium", "type": "user", "uri": f"spotify:user:{USER_ID}"}

    def _my_playlists(self, ctx):
        limit = self._int(ctx, "limit", 20, 1, 50)
        offset = self._int(ctx, "offset", 0, 0, 100_000, "Invalid offset")
        ids = list(self.listener.playlist_ids)
        return self._page(ctx, [self._playlist_simple(p) for p in ids[offset:offset + limit]], len(ids), limit,
                          offset)

    def _recently_played(self, ctx):
        q = ctx["query"]
        limit = self._int(ctx, "limit", 20, 1, 50)
        after, before = q.get("after"), q.get("before")
        if after and before:
            raise ApiError(400, "Only one of after and before may be specified")
        try:
            after_ms = int(after) if after else None
            before_ms = int(before) if before else None
        except ValueError:
            raise ApiError(400, "Invalid cursor") from None
        hist = self.listener.history(self.now_ms())          # newest first
        if after_ms is not None:
            newer = [p for p in hist if p[0] > after_ms]      # newest first
            page = newer[-limit:]                             # the `limit` plays closest to the cursor
            more = len(newer) > len(page)
        else:
            older = [p for p in hist if before_ms is None or p[0] < before_ms]
            page = older[:limit]
            more = len(older) > len(page)
        cat = self.catalog
        items = []
        for ms, tid, c in page:
            ctxobj = None
            if c:
                kind, cid = c
                ctxobj = {"type": kind, "href": self._href(kind, cid),
                          "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{cid}"},
                          "uri": f"spotify:{kind}:{cid}"}
            played = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
            items.append({"track": self.track_full(cat.tracks[tid]),
                          "played_at": played.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
                          "context": ctxobj})
        base = self.url + "/v1/me/player/recently-played"
        cursors = {"after": str(page[0][0]), "before": str(page[-1][0])} if page else None
        nxt = None
        if more and page:
            nxt = base + "?" + urlencode({"after": page[0][0], "limit": limit} if after_ms is not None
                                         else {"before": page[-1][0], "limit": limit})
        return {"items": items, "next": nxt, "cursors": cursors, "limit": limit,
                "href": base + "?" + urlencode(dict(q.items()))}

    def _following(self, ctx):
        q = ctx["query"]
        if q.get("type") != "artist":
            raise ApiError(400, "Bad type")
        limit = self._int(ctx, "limit", 20, 1, 50)
        ids = list(self.listener.followed)
        start = 0
        if q.get("after"):
            start = bisect_left(ids, q["after"])
            if start < len(ids) and ids[start] == q["after"]:
                start += 1
        page = ids[start:start + limit]
        more = start + limit < len(ids)
        base = self.url + "/v1/me/following"
        return {"artists": {"items": [self.artist_full(self.catalog.artists[a]) for a in page],
                            "next": base + "?" + urlencode({"type": "artist", "after": page[-1], "limit": limit})
                            if more and page else None,
                            "total": len(ids), "cursors": {"after": page[-1] if more and page else None},
                            "limit": limit, "href": base + "?" + urlencode(q)}}

    def _reccobeats(self, ctx):
        raw = ctx["query"].get("ids", "")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            raise _TokenError(400, {"timestamp": _iso_now(), "error": "Bad Request", "status": 400,
                                    "message": "ids is required"})
        if len(ids) > 40:
            raise _TokenError(400, {"timestamp": _iso_now(), "error": "Bad Request", "status": 400,
                                    "message": "Maximum 40 ids per request"})
        content = []
        for raw_id in ids:
            sid = raw_id.split(":")[-1].split("/")[-1]
            t = self.catalog.tracks.get(sid)
            if t is None:
                continue
            f = {k: v for k, v in _with_no_key(t).items() if k in FEATURE_KEYS}
            content.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "reccobeats:" + t.id)),
                            "href": f"https://open.spotify.com/track/{t.id}", **f})
        return {"content": content}



class _TokenError(ApiError):
    """An error whose body is not Spotify's ``{"error": {...}}`` shape (token endpoint, ReccoBeats)."""

    def __init__(self, status: int, payload: dict):
        super().__init__(status, str(payload))
        self.payload = payload

    def body(self) -> dict:
        return self.payload


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _with_no_key(t: Track) -> dict:
    """``t``'s audio features; 1 track in 60 (by id) has no detected key (``key: -1``), as real ones do."""
    d = dict(t.features)
    if _h("nokey", t.id) % 60 == 0:
        d["key"] = -1
    return d


def _iso_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _strip_dev(obj):
    """Development mode: drop artist followers/popularity and track popularity everywhere."""
    if isinstance(obj, dict):
        typ = obj.get("type")
        out = {}
        for k, v in obj.items():
            if typ in ("artist", "track") and k == "popularity":
                continue
            if typ == "artist" and k == "followers":
                continue
            out[k] = _strip_dev(v)
        return out
    if isinstance(obj, list):
        return [_strip_dev(x) for x in obj]
    return obj

