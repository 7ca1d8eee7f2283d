"""``SpotifyEmulator``: lifecycle, config and counters, routing, faults, the HTTP server, the command line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.emulator.api import ApiError, SpotifyApi, _Raw, _strip_dev
from local.emulator.catalog import MODES, Catalog, load_catalog
from local.emulator.charts import Charts
from local.emulator.listener import Listener


def _default_config() -> dict:
    return {"mode": "extended", "latency_ms": 0,
            "burst_429": {"count": 0, "retry_after": 1, "path_prefix": "/"},
            "burst_5xx": {"count": 0, "status": 503, "path_prefix": "/"},
            "quota_exceeded": False, "rate_limit_per_30s": None, "now_ms": None, "rotate_refresh_token": False,
            "authorize": "approve"}



class SpotifyEmulator(SpotifyApi):
    """The Spotify Web API emulator. See the module docstring for endpoints and config keys."""

    def __init__(self, mode: str = "extended", port: int = 0, catalog: Catalog | None = None,
                 host: str = "127.0.0.1"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.catalog = catalog or load_catalog()
        self.host, self._port = host, port
        self._cfg = _default_config()
        self._cfg["mode"] = mode
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._window: list[float] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.charts = Charts(self.catalog)
        self.listener = Listener(self.catalog)
        self._routes = self._build_routes()
        self._codes: dict[str, dict] = {}  # authorization codes issued by /authorize, until exchanged or expired

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> SpotifyEmulator:
        if self._server is not None:
            return self
        emu = self

        class Handler(_Handler):
            emulator = emu

        self._server = ThreadingHTTPServer((self.host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="spotify-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SpotifyEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return self.url + "/api/token"

    @property
    def api_prefix(self) -> str:
        return self.url + "/v1/"

    @property
    def reccobeats_url(self) -> str:
        return self.url + "/reccobeats/v1"

    def chart_csv_url(self, country: str, date: dt.date | str) -> str:
        return f"{self.url}/_emulator/charts/regional-{country}-weekly-{date}.csv"

    # -- config, counters ----------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._cfg["mode"]

    @mode.setter
    def mode(self, value: str) -> None:
        self.configure(mode=value)

    def config(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._cfg))

    def configure(self, **changes) -> dict:
        """Change any subset of the config keys (see module docstring); returns the new config."""
        with self._lock:
            for k, v in changes.items():
                if k not in self._cfg:
                    raise ValueError(f"unknown config key {k!r}")
                if k == "mode" and v not in MODES:
                    raise ValueError(f"mode must be one of {MODES}")
                if k in ("burst_429", "burst_5xx"):
                    defaults = ({"count": 0, "retry_after": 1, "path_prefix": "/"} if k == "burst_429"
                                else {"count": 0, "status": 503, "path_prefix": "/"})
                    self._cfg[k] = {**defaults, **(v or {})}
                elif k == "rate_limit_per_30s":
                    self._cfg[k] = None if v is None else int(v)
                    self._window = []
                elif k == "now_ms":
                    self._cfg[k] = None if v is None else int(v)
                elif k == "latency_ms":
                    self._cfg[k] = int(v or 0)
                elif k in ("quota_exceeded", "rotate_refresh_token"):
                    self._cfg[k] = bool(v)
                elif k == "authorize":
                    if v not in ("approve", "deny"):
                        raise ValueError("authorize must be 'approve' or 'deny'")
                    self._cfg[k] = v
                else:
                    self._cfg[k] = v
            return json.loads(json.dumps(self._cfg))

    def stats(self) -> dict:
        with self._lock:
            return {"requests": dict(self._counts), "total": sum(self._counts.values())}

    def reset_stats(self) -> None:
        with self._lock:
            self._counts.clear()

    def now_ms(self) -> int:
        n = self._cfg["now_ms"]
        return int(time.time() * 1000) if n is None else n

    # -- spotipy convenience -------------------------------------------------------------------------------------
    def spotipy_client(self, user: bool = False, client_id: str = "sori-local", client_secret: str = "sori-secret",
                       **spotify_kwargs):
        """A ``spotipy.Spotify`` pointed at this emulator (client credentials, or the listening user's refresh
        token flow when ``user=True``). Extra keywords go to ``spotipy.Spotify`` (e.g. ``retries=0``)."""
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

        if user:
            class _OAuth(SpotifyOAuth):
                OAUTH_TOKEN_URL = self.token_url
            scope = "user-read-recently-played user-follow-read playlist-read-private"
            cache = MemoryCacheHandler(token_info={"access_token": "expired", "token_type": "Bearer",
                                                   "expires_at": 0, "refresh_token": "sori-listener-seed",
                                                   "scope": scope})
            auth = _OAuth(client_id=client_id, client_secret=client_secret, redirect_uri="http://127.0.0.1/cb",
                          scope=scope, cache_handler=cache, open_browser=False)
        else:
            class _CC(SpotifyClientCredentials):
                OAUTH_TOKEN_URL = self.token_url
            auth = _CC(client_id=client_id, client_secret=client_secret, cache_handler=MemoryCacheHandler())
        sp = spotipy.Spotify(auth_manager=auth, **spotify_kwargs)
        sp.prefix = self.api_prefix
        return sp

    # -- request processing --------------------------------------------------------------------------------------
    def _build_routes(self):
        r = [
            ("POST", "/api/token", self._token),
            ("GET", "/authorize", self._authorize),
            ("GET", "/v1/search", self._search),
            ("GET", "/v1/artists", self._artists),
            ("GET", "/v1/artists/{id}", self._artist),
            ("GET", "/v1/artists/{id}/top-tracks", self._top_tracks),
            ("GET", "/v1/artists/{id}/related-artists", self._related),
            ("GET", "/v1/artists/{id}/albums", self._artist_albums),
            ("GET", "/v1/albums", self._albums),
            ("GET", "/v1/albums/{id}", self._album),
            ("GET", "/v1/tracks", self._tracks),
            ("GET", "/v1/tracks/{id}", self._track),
            ("GET", "/v1/audio-features", self._features_many),
            ("GET", "/v1/audio-features/{id}", self._features_one),
            ("GET", "/v1/recommendations", self._recommendations),
            ("GET", "/v1/playlists/{id}", self._playlist),
            ("GET", "/v1/playlists/{id}/tracks", self._playlist_tracks),
            ("GET", "/v1/playlists/{id}/items", self._playlist_items),
            ("GET", "/v1/me", self._me),
            ("GET", "/v1/me/playlists", self._my_playlists),
            ("GET", "/v1/me/player/recently-played", self._recently_played),
            ("GET", "/v1/me/following", self._following),
            ("GET", "/reccobeats/v1/audio-features", self._reccobeats),
        ]
        out = []
        for method, tmpl, fn in r:
            rx = re.compile("^" + re.escape(tmpl).replace(re.escape("{id}"), "([^/]+)") + "$")
            out.append((method, tmpl, rx, fn))
        return out

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, dict, Any]:
        """Process one request; returns (status, extra headers, JSON-able body or _Raw)."""
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith("/_emulator/"):
            return self._control(method, path, body)
        route: tuple[str, Any] | None = None  # (template, handler or None when only the method is wrong)
        args: tuple[Any, ...] = ()
        for m, tmpl, rx, fn in self._routes:
            mt = rx.match(path)
            if mt:
                if m != method:
                    route = route or (tmpl, None)
                    continue
                route, args = (tmpl, fn), mt.groups()
                break
        key = f"{method} {route[0]}" if route else f"{method} (unknown)"
        with self._lock:
            self._counts[key] += 1
        try:
            if route is None:
                raise ApiError(404, "Service not found")
            if route[1] is None:
                raise ApiError(405, "Method not allowed")
            if path.startswith("/v1/"):
                user = self._authenticate(headers)
                if path.startswith("/v1/me") and user != "user":
                    raise ApiError(401, "Unauthorized. This endpoint requires a user access token.")
            if path.startswith("/v1/") or path.startswith("/reccobeats/"):
                self._faults(path)
            ctx = {"query": query, "headers": headers, "body": body, "path": path, "raw": raw_path}
            result = route[1](ctx, *args)
            status, extra = 200, dict[str, str]()
            if isinstance(result, _Raw):
                return result.status, result.headers, result
            if self.mode == "development" and path.startswith("/v1/"):
                result = _strip_dev(result)
            return status, extra, result
        except ApiError as e:
            return e.status, e.headers, e.body()

    def _authenticate(self, headers: dict) -> str:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise ApiError(401, "No token provided")
        tok = auth[7:].strip()
        m = re.match(r"^EMU(cc|user)\.(\d+)\.[A-Za-z0-9_-]+$", tok)
        if not m:
            raise ApiError(401, "Invalid access token")
        if int(m.group(2)) < time.time():
            raise ApiError(401, "The access token expired")
        return "user" if m.group(1) == "user" else "cc"

    def _faults(self, path: str) -> None:
        with self._lock:
            cfg = self._cfg
            latency = cfg["latency_ms"]
        if latency:
            time.sleep(latency / 1000.0)
        with self._lock:
            if path.startswith("/v1/") and cfg["quota_exceeded"]:
                raise ApiError(429, "Too many requests", reason="QUOTA_EXCEEDED")
            b5 = cfg["burst_5xx"]
            if b5["count"] > 0 and path.startswith(b5.get("path_prefix") or "/"):
                b5["count"] -= 1
                st = int(b5.get("status", 503))
                raise ApiError(st, {500: "Server error", 502: "Bad gateway", 503: "Service unavailable",
                                    504: "Gateway timeout"}.get(st, "Server error"))
            b4 = cfg["burst_429"]
            if b4["count"] > 0 and path.startswith(b4.get("path_prefix") or "/"):
                b4["count"] -= 1
                ra = int(b4.get("retry_after", 1))
                raise ApiError(429, "API rate limit exceeded", headers={"Retry-After": str(ra)})
            limit = cfg["rate_limit_per_30s"]
            if limit is not None and path.startswith("/v1/"):
                now = time.monotonic()
                self._window = [t for t in self._window if t > now - 30.0]
                if len(self._window) >= limit:
                    wait = max(1, math.ceil(self._window[0] + 30.0 - now))
                    raise ApiError(429, "API rate limit exceeded", headers={"Retry-After": str(wait)})
                self._window.append(now)

    def _control(self, method: str, path: str, body: bytes):
        if path == "/_emulator/config":
            if method == "POST":
                try:
                    changes = json.loads(body or b"{}")
                    return 200, {}, self.configure(**changes)
                except (ValueError, TypeError) as e:
                    return 400, {}, {"error": {"status": 400, "message": str(e)}}
            return 200, {}, self.config()
        if path == "/_emulator/stats":
            return 200, {}, self.stats()
        if path == "/_emulator/reset" and method == "POST":
            self.reset_stats()
            return 200, {}, self.stats()
        if path == "/_emulator/health":
            return 200, {}, {"ok": True, "mode": self.mode}
        m = re.match(r"^/_emulator/charts/regional-([a-z]+)-weekly-(\d{4}-\d{2}-\d{2})\.csv$", path)
        if m and method == "GET":
            cc, day = m.group(1), m.group(2)
            if cc not in self.charts.defs:
                return 404, {}, {"error": {"status": 404, "message": f"no chart for {cc}"}}
            try:
                d = dt.date.fromisoformat(day)
            except ValueError:
                return 400, {}, {"error": {"status": 400, "message": "bad date"}}
            text = self.charts.weekly_csv(cc, d)
            return 200, {}, _Raw(text.encode("utf-8"), "text/csv; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="regional-{cc}-weekly-{day}.csv"'})
        return 404, {}, {"error": {"status": 404, "message": "Service not found"}}



class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # else replies on kept-alive connections stall ~40 ms (delayed ACK)
    emulator: SpotifyEmulator
    protocol_version = "HTTP/1.1"
    server_version = "sori-spotify-emulator/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, extra, payload = self.emulator.handle(method, self.path, headers, body)
        except Exception as e:  # a bug: answer 500 rather than hang the client
            status, extra, payload = 500, {}, {"error": {"status": 500, "message": f"emulator error: {e!r}"}}
        if isinstance(payload, _Raw):
            data, ctype = payload.body, payload.content_type
        else:
            data, ctype = json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Spotify Web API emulator (sori, dev-only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", choices=MODES, default="extended")
    args = ap.parse_args(list(argv) if argv is not None else None)
    emu = SpotifyEmulator(mode=args.mode, port=args.port, host=args.host).start()
    print(json.dumps({"url": emu.url, "token_url": emu.token_url, "api_prefix": emu.api_prefix,
                      "reccobeats_url": emu.reccobeats_url, "mode": emu.mode}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0

