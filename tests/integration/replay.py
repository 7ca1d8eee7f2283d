"""A loopback HTTP server that replays recorded API responses (``tests/fixtures/real``) to the real clients.

>>> with Replay() as r:                                                  # doctest: +SKIP
...     r.route("GET", "/v1/artists/0OdUWJ0sBjDrqHygGUXeCF", "spotify/java_artist.json")
...     api = r.app_client()

Routes match on method and path (query ignored) unless a ``query`` dict is given; each route answers its
responses in turn and repeats the last. ``requests`` records what was asked (method, path, query, form).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def load(name: str) -> Any:
    """A corpus file, parsed (``"spotify/java_artist.json"``)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Replay:
    def __init__(self):
        self.routes: list[dict] = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _serve(self, method: str):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(n).decode()).items()} if n else {}
                status, body = replay._answer(method, parts.path, query, form)
                raw = (json.dumps(body).replace("https://api.spotify.com/v1", f"{replay.url}/v1").encode()
                       if body is not None else b"")  # recorded `next` links lead back here
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Replay":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(self, method: str, path: str, *responses: Any, query: dict | None = None) -> None:
        """Answer ``method path`` with ``responses`` in turn: a corpus file name (200), a parsed body (200) or a
        ``(status, body-or-file)`` pair."""
        self.routes.insert(0, {"method": method, "path": path, "query": query, "left": list(responses)})

    def _answer(self, method: str, path: str, query: dict, form: dict) -> tuple[int, Any]:
        path = path.rstrip("/") or "/"  # spotipy asks for e.g. ``audio-features/?ids=``
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "form": form})
            for r in self.routes:
                if r["method"] == method and r["path"] == path and all(
                        query.get(k) == v for k, v in (r["query"] or {}).items()):
                    resp = r["left"][0] if len(r["left"]) == 1 else r["left"].pop(0)
                    status, body = resp if isinstance(resp, tuple) else (200, resp)
                    return status, load(body) if isinstance(body, str) else body
        return 404, {"error": {"status": 404, "message": f"no recorded response for {method} {path}"}}

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)

    # -- the project's own clients pointed here ----------------------------------------------------------------
    def settings(self):
        from sori.settings import Settings
        return Settings(spotify_api_url=f"{self.url}/v1/", spotify_token_url=f"{self.url}/api/token",
                        reccobeats_url=f"{self.url}/reccobeats/v1/")

    def _retrier(self):
        from sori.spotify.client import RateBudget, Retrier
        return Retrier(RateBudget(10_000), max_attempts=1)

    def app_client(self):
        from sori.spotify.client import app_client
        if not any(r["path"] == "/api/token" for r in self.routes):
            self.route("POST", "/api/token", "spotify/java_token_client_credentials.json")
        return app_client(self.settings(), retrier=self._retrier())

    def user_client(self, refresh_token: str = "stored-refresh-token"):
        from sori.spotify.client import user_client
        return user_client(refresh_token, self.settings(), retrier=self._retrier())

    def reccobeats(self):
        from sori.spotify.client import ReccoBeats
        return ReccoBeats(f"{self.url}/reccobeats/v1", self._retrier())
