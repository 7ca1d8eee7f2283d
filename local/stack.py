"""The embedded local stack: AWS (moto server) + RDS (MariaDB) + Spotify (emulator) + Lambda (in-process runners).

``sori up`` starts one supervisor process (``python -m local.stack serve``) that runs every part and writes
``.sori/stack.json``; ``sori down`` stops it and whatever it started; ``sori status`` reads the file.
Tests and the demo may run :class:`LocalStack` in-process instead.

The order mirrors a real deployment: database first, then the cloud (the SAM template transformed offline and
created in moto's CloudFormation, the rest provisioned from the same template), secrets filled, then the
event-source mappings and the HTTP API that AWS would run for us.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal, overload

REPO = Path(__file__).resolve().parents[1]
REGION = "ap-northeast-2"
LOCAL_DB = "sori"


def sori_home() -> Path:
    """Where state and logs live (git-ignored): ``$SORI_HOME`` or ``<repo>/.sori``."""
    home = Path(os.environ.get("SORI_HOME") or REPO / ".sori")
    home.mkdir(parents=True, exist_ok=True)
    return home


def stack_file() -> Path:
    return sori_home() / "stack.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@overload
def load_stack(required: Literal[True] = ...) -> dict: ...
@overload
def load_stack(required: bool) -> dict | None: ...
def load_stack(required: bool = True) -> dict | None:
    """The running stack's description (``.sori/stack.json``), or None / SystemExit when none runs."""
    f = stack_file()
    if f.exists():
        info = json.loads(f.read_text())
        if info.get("ready") and _alive(info.get("pid")):
            return info
    if required:
        raise SystemExit("no local stack is running: start it with `sori up`")
    return None


def apply_env(info: dict) -> None:
    """Point this process at the running stack: the same environment the stack's functions get."""
    os.environ.update(info["env"])
    try:
        from sori.settings import get_settings

        get_settings.cache_clear()
    except ImportError:  # pragma: no cover
        pass


def _alive(pid: Any) -> bool:
    from local.mariadb import pid_alive

    return isinstance(pid, int) and pid_alive(pid)


class LocalStack:
    """Every part of the local cloud, started and stopped together.

    >>> with LocalStack(mode="development") as stack:   # doctest: +SKIP
    ...     print(stack.info["chatbot"])
    """

    def __init__(self, *, mode: str = "extended", consume: bool = True, mysql_server: str | None = None,
                 database: str = LOCAL_DB, skill_secret: str | None = None):
        self.mode = mode
        self.consume = consume
        self.mysql_server = mysql_server
        self.database = database
        self.skill_secret = skill_secret or os.environ.get("SORI_SKILL_SECRET") or _secrets.token_urlsafe(24)
        self.info: dict = {}
        # the parts, started by start(); Any: each is used only between start() and stop()
        self._moto: Any = None
        self._emulator: Any = None
        self._runner: Any = None
        self._webhook: Any = None
        self._control: Any = None
        self._throwaway_was_running = True  # until start() knows better: never stop what we did not start

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> dict:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.info

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        from local import mariadb
        from local.emulator import SpotifyEmulator
        from local.provision import deploy, write_secrets

        # RDS: an existing server (SORI_MYSQL_URL) or a throwaway mariadbd under .sori/
        self._throwaway_was_running = mariadb.throwaway_status() is not None
        server = self.mysql_server or mariadb.mysql_server_url()
        mysql_url = mariadb.create_database(server, self.database)  # utf8mb4, migrated

        # AWS: moto server, the template deployed into it
        from local import moto_patches

        moto_patches.install()  # moto's DynamoDB transactions copy whole tables otherwise
        aws_port = int(os.environ.get("SORI_AWS_PORT") or free_port())
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
        self._moto.start()
        aws = f"http://127.0.0.1:{aws_port}"
        aws_env = {"AWS_ENDPOINT_URL": aws, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                   "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}  # moto's; never real credentials
        os.environ.update(aws_env)
        os.environ.pop("AWS_PROFILE", None)

        # Spotify: the emulator over the shipped catalog
        self._emulator = SpotifyEmulator(mode=self.mode, port=int(os.environ.get("SORI_SPOTIFY_PORT") or 0))
        self._emulator.start()

        deployed = deploy(aws, region=REGION)
        write_secrets(aws, deployed, {
            "SpotifySecret": {"client_id": "sori-local-client", "client_secret": _secrets.token_hex(16)},
            "ListeningTokenSecret": {"refresh_token": "sori-local-refresh-" + _secrets.token_hex(8)},
            "MysqlSecret": {"username": "root", "password": ""},
            "SkillSecret": {"secret": self.skill_secret},
        })

        env = dict(aws_env)
        for fn in deployed["functions"].values():
            env.update({k: str(v) for k, v in (fn.get("environment") or {}).items() if k != "SORI_DLQ_URL"})
        env.update({
            "SORI_MYSQL_URL": mysql_url,
            "SORI_QUERY_ENGINE": "duckdb",
            "SORI_SPOTIFY_API_URL": self._emulator.url + "/v1/",
            "SORI_SPOTIFY_TOKEN_URL": self._emulator.url + "/api/token",
            "SORI_RECCOBEATS_URL": self._emulator.url + "/reccobeats/v1/",
            "SORI_CHARTS_CSV_URL": self._emulator.url + "/_emulator/charts",
            # the emulator has no rate limit unless told to; Spotify's real budget would make a full-catalog
            # demo take half an hour, so the local stack lifts ours (tests of the budget set their own)
            "SORI_SPOTIFY_BUDGET_PER_30S": os.environ.get("SORI_SPOTIFY_BUDGET_PER_30S", "20000"),
            "SORI_HOME": str(sori_home()),
            "POWERTOOLS_METRICS_NAMESPACE": "sori-local",
            # no CloudWatch reads the local stack's stdout; EMF lines would only clutter CLI output
            "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            "POWERTOOLS_DEV": os.environ.get("POWERTOOLS_DEV", "false"),
        })
        os.environ.update(env)
        from sori.settings import get_settings

        get_settings.cache_clear()

        from sori.stores import mysql as mysql_store

        mysql_store.seed_aliases(mysql_store.connect())  # curated Hangul <-> Latin aliases (artists known so far)

        # Lambda: the Kinesis/SQS event-source mappings and the HTTP API, as configured in the template
        from local.mapping import MappingRunner
        from local.webhook import WebhookServer

        # a new moto has new streams whose sequence numbers start over: a previous stack's checkpoints would
        # make the runner skip records, so they go (they matter for restarts of the runner within one stack)
        checkpoints = sori_home() / "checkpoints"
        shutil.rmtree(checkpoints, ignore_errors=True)
        self._runner = MappingRunner(deployed, checkpoint_dir=checkpoints)
        if self.consume:
            self._runner.start()
        api = deployed.get("http_api") or {}
        fn = deployed["functions"][api.get("function", "ChatbotFunction")]
        static = REPO / "local" / "static"
        self._webhook = WebhookServer(fn["handler"], port=int(os.environ.get("SORI_CHATBOT_PORT") or 0),
                                      route="/" + api.get("route", "POST /skill").split(" /", 1)[-1],
                                      function_name=fn["name"], static_dir=static if static.exists() else None)
        self._webhook.start()

        self._control = ControlServer(self).start()

        self.info = {
            "control": self._control.url,
            "ready": True, "pid": os.getpid(), "mode": self.mode, "started_at": time.time(),
            "aws": aws, "mysql": mysql_url, "spotify": self._emulator.url,
            "chatbot": self._webhook.url + self._webhook.route, "chat_page": self._webhook.url + "/",
            "skill_secret": self.skill_secret, "region": REGION,
            "env": env, "deployed": deployed,
        }

    def stop(self) -> None:
        for part in (self._control, self._webhook, self._runner, self._emulator, self._moto):
            if part is not None:
                try:
                    part.stop()
                except Exception as e:  # keep stopping the rest
                    print(f"stop {type(part).__name__}: {e}", file=sys.stderr)
        self._control = self._webhook = self._runner = self._emulator = self._moto = None
        from local import mariadb

        # a throwaway this stack started; never a server someone else runs (a test session's, `sori db start`)
        if not self._throwaway_was_running:
            mariadb.stop_if_started_here()

    def drain(self, timeout: float = 120.0) -> bool:
        """Return once every record put so far has been processed (or dead-lettered); False on timeout."""
        return self._runner.drain(timeout=timeout)

    def runner_status(self) -> dict:
        return self._runner.status() if self._runner else {}

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class ControlServer:
    """Loopback control plane of a running stack, for CLI commands in other processes.

    ``POST /drain?timeout=S`` → ``{"drained": bool, "status": {...}}``; ``GET /status`` → the mapping runner's status.
    """

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self._httpd: Any = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ControlServer:
        from http.server import BaseHTTPRequestHandler
        from urllib.parse import parse_qs, urlsplit

        stack = self.stack

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _json(self, status: int, obj: Any) -> None:
                body = json.dumps(obj, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if urlsplit(self.path).path == "/status":
                    return self._json(200, stack.runner_status())
                self._json(404, {"message": "Not Found"})

            def do_POST(self):
                u = urlsplit(self.path)
                if u.path != "/drain":
                    return self._json(404, {"message": "Not Found"})
                timeout = float((parse_qs(u.query).get("timeout") or ["120"])[0])
                try:
                    drained = stack.drain(timeout=timeout)
                except Exception as e:  # report, never kill the control plane
                    return self._json(500, {"drained": False, "error": f"{type(e).__name__}: {e}"})
                self._json(200, {"drained": drained, "status": stack.runner_status()})

        from local.webhook import serve_in_thread

        self._httpd = serve_in_thread(_H, 0, "control")
        return self

    def stop(self) -> None:
        from local.webhook import stop_server

        stop_server(self._httpd)
        self._httpd = None


def drain_remote(info: dict, timeout: float = 300.0) -> dict:
    """Ask a running stack (``sori up``) to drain: returns once every record put so far is processed."""
    import urllib.request

    req = urllib.request.Request(f"{info['control']}/drain?timeout={timeout}", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=timeout + 30) as r:
        return json.loads(r.read())


# -- the supervisor process behind `sori up` -----------------------------------------------------------
def serve(mode: str) -> int:
    stack = LocalStack(mode=mode)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    f = stack_file()
    try:
        info = stack.start()
        tmp = f.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2, default=str))
        tmp.replace(f)
        print(json.dumps({k: v for k, v in info.items() if k not in ("env", "deployed")}), flush=True)
        done.wait()
    finally:
        stack.stop()
        try:
            if f.exists() and json.loads(f.read_text()).get("pid") == os.getpid():
                f.unlink()
        except (OSError, ValueError):
            pass
    return 0


def up(mode: str = "extended", timeout: float = 180.0) -> dict:
    """Start the supervisor in the background (or return the running one) and wait until it is ready."""
    running = load_stack(required=False)
    if running:
        return running
    home = sori_home()
    stack_file().unlink(missing_ok=True)
    with open(home / "stack.log", "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "local.stack", "serve", "--mode", mode], cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (home / "stack.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = load_stack(required=False)
        if info and info.get("pid") == proc.pid:
            return info
        if proc.poll() is not None:
            raise SystemExit(f"the local stack failed to start (exit {proc.returncode}); see {home / 'stack.log'}:\n"
                             + _tail(home / "stack.log"))
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the local stack did not become ready in {timeout:.0f}s; see {home / 'stack.log'}")


def down(timeout: float = 30.0) -> bool:
    """Stop the supervisor and everything it started. True when something was stopped."""
    home = sori_home()
    pids = set()
    for src in (stack_file(), home / "stack.pid"):
        try:
            txt = src.read_text()
            pids.add(json.loads(txt)["pid"] if src.suffix == ".json" else int(txt))
        except (OSError, ValueError, KeyError):
            pass
    stopped = False
    for pid in pids:
        if not _alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    stack_file().unlink(missing_ok=True)
    (home / "stack.pid").unlink(missing_ok=True)
    try:
        from local import mariadb

        stopped = mariadb.stop_throwaway() or stopped
    except Exception as e:  # pragma: no cover
        print(f"stopping MariaDB: {e}", file=sys.stderr)
    return stopped


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m local.stack")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--mode", default="extended", choices=["extended", "development"])
    a = p.parse_args(argv)
    return serve(a.mode)


if __name__ == "__main__":
    sys.exit(main())
