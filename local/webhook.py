"""The chatbot behind a local HTTP endpoint, the way API Gateway HTTP API (payload v2) delivers it.

>>> srv = WebhookServer(handler=lambda event, ctx: {"statusCode": 200, "body": event["body"]})  # doctest: +SKIP
>>> srv.start(); requests.post(srv.url + "/skill", data="{}")                                       # doctest: +SKIP

Each request becomes an HTTP API v2 event (``version: "2.0"``, lower-cased ``headers``, ``requestContext.http``,
``rawPath``, ``body``, ``isBase64Encoded``) and the handler's result is turned back into an HTTP response exactly
as API Gateway would (a bare dict/str result becomes a 200 JSON body). ``GET /`` serves the local chat page when
``static_dir`` has an ``index.html``.
"""
from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from local.lambda_context import LocalLambdaContext

Handler = Callable[[dict, Any], Any]


def import_handler(dotted: str) -> Handler:
    """``"chatbot.handler.lambda_handler"`` → the function."""
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def http_api_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str,
                   route_key: str) -> dict:
    """Build an API Gateway HTTP API payload-v2 event."""
    path, _, query = raw_path.partition("?")
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode(), True
    now = dt.datetime.now(dt.UTC)
    lower = {k.lower(): v for k, v in headers.items()}
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "queryStringParameters": dict(p.partition("=")[::2] for p in query.split("&") if p) or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": lower.get("host", "127.0.0.1"),
            "domainPrefix": "local", "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": lower.get("user-agent", "")},
        },
        "body": text if body else None,
        "isBase64Encoded": is_b64,
    }


def _to_http(result: Any) -> tuple[int, dict[str, str], bytes]:
    """API Gateway's v2 response mapping."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result, ensure_ascii=False).encode()
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    return int(result["statusCode"]), headers, raw


class WebhookServer:
    """HTTP front for a Lambda handler on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, handler: Handler | str = "chatbot.handler.lambda_handler", *, port: int = 0,
                 route: str = "/skill", function_name: str = "ChatbotFunction", timeout_s: float = 10.0,
                 static_dir: str | Path | None = None):
        self._handler_ref = handler
        self.route = route
        self.function_name = function_name
        self.timeout_s = timeout_s
        self.static_dir = Path(static_dir) if static_dir else None
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def handler(self) -> Handler:
        if isinstance(self._handler_ref, str):
            self._handler_ref = import_handler(self._handler_ref)
        return self._handler_ref

    @property
    def url(self) -> str:
        assert self._httpd, "not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WebhookServer:
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else replies on kept-alive connections stall ~40 ms (delayed ACK)

            def log_message(self, *a):  # quiet; the handler logs
                pass

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = urlsplit(self.path).path
                if path == "/health":
                    return self._send(200, {"content-type": "application/json"}, b'{"ok":true}')
                if outer.static_dir:
                    name = "index.html" if path in ("", "/") else path.lstrip("/")
                    f = (outer.static_dir / name).resolve()
                    if f.is_file() and outer.static_dir.resolve() in f.parents:
                        ctype = {"html": "text/html; charset=utf-8", "js": "text/javascript",
                                 "css": "text/css"}.get(f.suffix.lstrip("."), "application/octet-stream")
                        return self._send(200, {"content-type": ctype}, f.read_bytes())
                self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')

            def do_POST(self):
                path = urlsplit(self.path).path
                if path != outer.route:
                    return self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event = http_api_event("POST", self.path, dict(self.headers.items()), body,
                                       self.client_address[0], f"POST {outer.route}")
                ctx = LocalLambdaContext(function_name=outer.function_name, timeout_s=outer.timeout_s)
                try:
                    status, headers, raw = _to_http(outer.handler(event, ctx))
                except Exception:  # what API Gateway answers when the function errors
                    status, headers, raw = 500, {"content-type": "application/json"}, \
                        b'{"message":"Internal Server Error"}'
                self._send(status, headers, raw)

        self._httpd = serve_in_thread(_H, self._port, "webhook")
        return self

    def stop(self) -> None:
        stop_server(self._httpd)
        self._httpd = None


def serve_in_thread(handler_cls: type, port: int = 0, name: str = "http") -> ThreadingHTTPServer:
    """A threading HTTP server on 127.0.0.1 serving in a daemon thread."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler_cls)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name=name, daemon=True).start()
    return httpd


def stop_server(httpd: ThreadingHTTPServer | None) -> None:
    """Stop serving and close the listening socket (nothing is left listening)."""
    if httpd is not None:
        httpd.shutdown()
        httpd.server_close()


def wait_http(url: str, timeout: float = 10.0) -> None:
    """Block until ``url`` answers (any status)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout}s") from None
            time.sleep(0.05)
