"""The local stand-in for RDS: ``SORI_MYSQL_URL`` when set, else a throwaway MariaDB under ``.sori/mariadb/``.

Dev-only (never deployed)::

    from local.mariadb import mysql_server_url, fresh_database, drop_database, stop_throwaway

    server = mysql_server_url()        # "mysql://root@127.0.0.1:41234/" — starts mariadbd if needed
    url = fresh_database(server)       # "mysql://root@127.0.0.1:41234/sori_test_4242_9f3a1c0e", migrated
    ...
    drop_database(url)
    stop_throwaway()                   # `sori down`: nothing left listening

The throwaway server runs ``mariadbd --no-defaults`` on a free loopback port with its data directory, socket,
pid file and log under ``$SORI_HOME/mariadb/`` (``SORI_HOME`` defaults to the repo's ``.sori/``); root has an
empty password and only listens on 127.0.0.1. A second caller (another process, a second ``sori up``) reuses
a running server instead of starting another; a file lock serialises start/stop. When ``mariadbd`` is not
installed it is installed with ``apt-get install -y mariadb-server`` (printed as it runs).
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sori.stores.mysql import migrate, open_connection, parse_url, with_database

REPO_ROOT = Path(__file__).resolve().parent.parent
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin", "/usr/libexec")
_START_TIMEOUT = 60.0
# Processes this Python process started, by home directory (so tests can stop only what they started).
_started: dict[Path, subprocess.Popen] = {}


def sori_home() -> Path:
    """``$SORI_HOME`` or the repo's ``.sori/``."""
    return Path(os.environ.get("SORI_HOME") or REPO_ROOT / ".sori").resolve()


def _dir(home: Path | None) -> Path:
    d = (Path(home).resolve() if home else sori_home()) / "mariadb"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _say(msg: str) -> None:
    print(f"[sori mariadb] {msg}", file=sys.stderr, flush=True)


# --- install ----------------------------------------------------------------------------------------------

def find_binary(name: str) -> str | None:
    """A server binary on PATH or in the usual sbin directories (often not on a user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for d in _SBIN_DIRS:
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def ensure_installed() -> tuple[str, str]:
    """Paths of ``mariadbd`` and ``mariadb-install-db``; installs the ``mariadb-server`` apt package if missing."""
    server, installer = find_binary("mariadbd"), find_binary("mariadb-install-db")
    if server and installer:
        return server, installer
    if not shutil.which("apt-get"):
        raise RuntimeError("mariadbd is not installed and apt-get is not available: install MariaDB, or set "
                           "SORI_MYSQL_URL to a running server")
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        raise RuntimeError("mariadbd is not installed and we are not root (no sudo): run "
                           "`sudo apt-get install -y mariadb-server`, or set SORI_MYSQL_URL")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in ([*sudo, "apt-get", "update"], [*sudo, "apt-get", "install", "-y", "mariadb-server"]):
        _say("mariadbd not found; running: " + " ".join(cmd))
        subprocess.run(cmd, check=True, env=env)
    server, installer = find_binary("mariadbd"), find_binary("mariadb-install-db")
    if not (server and installer):
        raise RuntimeError("mariadb-server was installed but mariadbd / mariadb-install-db are still not found")
    return server, installer


# --- throwaway server -------------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(d: Path) -> Iterator[None]:
    with open(d / "lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _socket_path(d: Path) -> Path:
    sock = d / "mysqld.sock"
    if len(str(sock)) < 100:  # AF_UNIX paths are limited to 108 bytes
        return sock
    return Path(tempfile.gettempdir()) / f"sori-mariadb-{hashlib.sha1(str(d).encode()).hexdigest()[:12]}.sock"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie is dead for our purposes
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _is_our_server(pid: int, datadir: Path) -> bool:
    """Whether ``pid`` is a mariadbd on this data directory (guards against a recycled pid)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)  # no /proc (not Linux): trust the pid file
    return any(a.endswith((b"mariadbd", b"mysqld")) for a in args[:1]) and \
        any(a == f"--datadir={datadir}".encode() for a in args)


def _state(d: Path) -> dict | None:
    try:
        return json.loads((d / "server.json").read_text())
    except (OSError, ValueError):
        return None


def _accepts(port: int) -> bool:
    try:
        conn = open_connection({"host": "127.0.0.1", "port": port, "user": "root", "password": ""},
                               connect_timeout=2)
    except Exception:
        return False
    conn.close()
    return True


def _running_url(d: Path) -> str | None:
    """URL of a healthy throwaway server recorded under ``d``, else ``None``."""
    st = _state(d)
    if not st or not pid_alive(st["pid"]) or not _is_our_server(st["pid"], Path(st["datadir"])):
        return None
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:  # it may still be starting (another process launched it)
        if _accepts(st["port"]):
            return st["url"]
        if not pid_alive(st["pid"]):
            return None
        time.sleep(0.2)
    return None


def _init_datadir(installer: str, datadir: Path) -> None:
    if (datadir / "mysql").is_dir():
        return
    tmp = datadir.with_name(f"{datadir.name}.init-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [installer, "--no-defaults", f"--datadir={tmp}", "--auth-root-authentication-method=normal",
           "--skip-test-db", "--innodb-log-file-size=16M"]
    if os.geteuid() == 0:
        cmd.append("--user=root")
    _say("initialising " + str(datadir))
    res = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if res.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"mariadb-install-db failed ({res.returncode}):\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    shutil.rmtree(datadir, ignore_errors=True)
    tmp.rename(datadir)  # all or nothing: a half-initialised datadir is never left behind


def _launch(server: str, d: Path, datadir: Path) -> tuple[subprocess.Popen, int]:
    log_path = d / "mariadbd.log"
    for _attempt in range(3):  # a free port can be taken between choosing it and binding it
        port = _free_port()
        cmd = [server, "--no-defaults", f"--datadir={datadir}", f"--socket={_socket_path(d)}", f"--port={port}",
               "--bind-address=127.0.0.1", f"--pid-file={d / 'mariadbd.pid'}", f"--log-error={log_path}",
               "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci", "--skip-name-resolve",
               "--skip-log-bin", "--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M",
               "--max-connections=300", "--innodb-flush-log-at-trx-commit=2"]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        offset = log_path.stat().st_size if log_path.exists() else 0
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _accepts(port):
                return proc, port
            time.sleep(0.1)
        else:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"mariadbd did not accept connections within {_START_TIMEOUT:.0f}s; see {log_path}")
        tail = log_path.read_text(errors="replace")[offset:] if log_path.exists() else ""
        if "Address already in use" not in tail and "Can't start server" not in tail:
            raise RuntimeError(f"mariadbd exited with {proc.returncode}:\n{tail[-3000:]}")
    raise RuntimeError(f"mariadbd could not bind a free port; see {log_path}")


def ensure_throwaway(home: Path | str | None = None) -> str:
    """Start (or reuse) the throwaway MariaDB under ``home`` (default :func:`sori_home`); returns its URL
    ``mysql://root@127.0.0.1:PORT/``."""
    d = _dir(Path(home) if home else None)
    with _locked(d):
        url = _running_url(d)
        if url:
            return url
        server, installer = ensure_installed()
        datadir = d / "data"
        _init_datadir(installer, datadir)
        proc, port = _launch(server, d, datadir)
        url = f"mysql://root@127.0.0.1:{port}/"
        (d / "server.json").write_text(json.dumps({
            "pid": proc.pid, "port": port, "url": url, "datadir": str(datadir), "socket": str(_socket_path(d)),
            "log": str(d / "mariadbd.log"), "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=2))
        _started[d] = proc
        _say(f"throwaway MariaDB on {url} (pid {proc.pid}, data {datadir})")
        return url


def mysql_server_url() -> str:
    """``SORI_MYSQL_URL`` when set (CI: MariaDB on 127.0.0.1:3306), else the throwaway server's URL."""
    return os.environ.get("SORI_MYSQL_URL") or ensure_throwaway()


def throwaway_status(home: Path | str | None = None) -> dict | None:
    """The running throwaway's recorded state (pid, port, url, datadir, log), or ``None``."""
    d = _dir(Path(home) if home else None)
    st = _state(d)
    if st and pid_alive(st["pid"]) and _is_our_server(st["pid"], Path(st["datadir"])):
        return st
    return None


def stop_throwaway(home: Path | str | None = None, timeout: float = 30.0) -> bool:
    """Stop the throwaway server under ``home`` cleanly (SIGTERM, then SIGKILL after ``timeout``); returns
    whether one was running. Only ever signals the pid recorded for that data directory."""
    d = _dir(Path(home) if home else None)
    with _locked(d):
        st = _state(d)
        stopped = False
        proc = _started.pop(d, None)
        if st and pid_alive(st["pid"]) and _is_our_server(st["pid"], Path(st["datadir"])):
            pid = st["pid"]
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, proc, timeout):
                _say(f"mariadbd (pid {pid}) ignored SIGTERM for {timeout:.0f}s; killing it")
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, proc, 10)
            stopped = True
        elif proc is not None and proc.poll() is None:  # state file lost; still stop what we started
            proc.terminate()
            proc.wait(timeout)
            stopped = True
        for name in ("server.json", "mariadbd.pid"):
            with contextlib.suppress(FileNotFoundError):
                (d / name).unlink()
        if st:
            with contextlib.suppress(FileNotFoundError, KeyError):
                sock = Path(st["socket"])
                if sock.parent != d:
                    sock.unlink()
        return stopped


def _wait_gone(pid: int, proc: subprocess.Popen | None, timeout: float) -> bool:
    if proc is not None:  # our child: reap it, or it lingers as a zombie
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def started_here(home: Path | str | None = None) -> bool:
    """Whether this process started the throwaway server under ``home`` (and it still runs)."""
    proc = _started.get(_dir(Path(home) if home else None))
    return proc is not None and proc.poll() is None


def stop_if_started_here(home: Path | str | None = None) -> bool:
    """Stop the throwaway only if this process started it (test-session teardown); a server someone else
    started (``sori up``) keeps running."""
    return stop_throwaway(home) if started_here(home) else False


def stop_at_exit(home: Path | str | None = None) -> None:
    """Register :func:`stop_if_started_here` to run at interpreter exit."""
    atexit.register(stop_if_started_here, home)


# --- databases --------------------------------------------------------------------------------------------

def _valid_name(name: str) -> str:
    if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name) or len(name) > 64:
        raise ValueError(f"bad database name {name!r}")
    return name


def create_database(server_url: str, name: str, *, run_migrations: bool = True) -> str:
    """Create database ``name`` (utf8mb4) on the server if missing, migrate it, and return its URL."""
    name = _valid_name(name)
    conn = open_connection(with_database(server_url, None))
    try:
        with conn.cursor() as cur:  # identifiers cannot be parameters; the name is validated above
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.commit()
    finally:
        conn.close()
    url = with_database(server_url, name)
    if run_migrations:
        conn = open_connection(url)
        try:
            migrate(conn)
        finally:
            conn.close()
    return url


def fresh_database(server_url: str, prefix: str = "sori_test") -> str:
    """A new, uniquely named, migrated utf8mb4 database (``<prefix>_<pid>_<random>``); returns its URL."""
    return create_database(server_url, f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}")


def drop_database(url: str) -> None:
    """Drop the database a URL names (no error if it is already gone)."""
    name = parse_url(url)["database"]
    if not name:
        raise ValueError(f"URL names no database: {url!r}")
    name = _valid_name(name)
    conn = open_connection(with_database(url, None))
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.commit()
    finally:
        conn.close()
