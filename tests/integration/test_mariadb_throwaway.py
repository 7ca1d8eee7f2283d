"""The throwaway MariaDB (local/mariadb.py): start -> query -> reuse -> stop leaves nothing listening.

Runs even when SORI_MYSQL_URL is set (CI), so the throwaway path is always exercised; it uses its own
SORI_HOME under tmp, never the developer's .sori/ server.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local import mariadb
from sori.stores.mysql import open_connection

REPO = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture()
def home(tmp_path, monkeypatch):
    h = tmp_path / "sori-home"
    monkeypatch.delenv("SORI_MYSQL_URL", raising=False)
    monkeypatch.setenv("SORI_HOME", str(h))
    yield h
    mariadb.stop_throwaway(h)  # whatever happened in the test, leave nothing running


def test_throwaway_start_query_reuse_stop(home):
    url = mariadb.mysql_server_url()  # no SORI_MYSQL_URL -> throwaway under $SORI_HOME
    st = mariadb.throwaway_status(home)
    assert st is not None and url == st["url"] == f"mysql://root@127.0.0.1:{st['port']}/"
    assert Path(st["datadir"]) == home.resolve() / "mariadb" / "data"
    assert mariadb.started_here(home)
    pid, port = st["pid"], st["port"]

    db = mariadb.fresh_database(url, prefix="sori_tw")
    with open_connection(db) as c, c.cursor() as cur:
        cur.execute("SELECT @@version AS v, @@character_set_server AS cs, @@bind_address AS ba, 1 + 1 AS two")
        row = cur.fetchone()
        assert "MariaDB" in row["v"] and row["cs"] == "utf8mb4" and row["ba"] == "127.0.0.1" and row["two"] == 2
        cur.execute("SELECT version FROM schema_migrations")
        assert cur.fetchall()
    mariadb.drop_database(db)

    # a second caller reuses the running server: same process ...
    assert mariadb.ensure_throwaway(home) == url
    # ... and another process (a second `sori up`, another test worker)
    out = subprocess.run([sys.executable, "-c", "from local.mariadb import mysql_server_url; print(mysql_server_url())"], check=False,
                         cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == url
    assert mariadb.throwaway_status(home)["pid"] == pid

    assert mariadb.stop_throwaway(home) is True
    assert not listening(port)
    assert not mariadb.pid_alive(pid)
    assert mariadb.throwaway_status(home) is None
    assert not (home / "mariadb" / "server.json").exists()
    assert mariadb.stop_throwaway(home) is False  # stopping twice is fine


def test_throwaway_recovers_after_the_server_died(home):
    url = mariadb.ensure_throwaway(home)
    db = mariadb.fresh_database(url, prefix="sori_tw")
    with open_connection(db) as c, c.cursor() as cur:
        cur.execute("INSERT INTO artists (id, name, name_norm, source, created_at) VALUES"
                    " ('x', '샤이니', '샤이니', 'test', UTC_TIMESTAMP())")
        c.commit()
    st = mariadb.throwaway_status(home)
    os.kill(st["pid"], signal.SIGKILL)  # the server we started dies hard
    mariadb._started[home.resolve() / "mariadb"].wait(10)
    assert mariadb.throwaway_status(home) is None
    url2 = mariadb.ensure_throwaway(home)  # a stale server.json: start a new one on the same data directory
    st2 = mariadb.throwaway_status(home)
    assert st2["pid"] != st["pid"]
    with open_connection(db.replace(url, url2)) as c, c.cursor() as cur:  # committed data survived recovery
        cur.execute("SELECT name FROM artists WHERE id = 'x'")
        assert cur.fetchone()["name"] == "샤이니"
    mariadb.drop_database(db.replace(url, url2))
    assert mariadb.stop_throwaway(home) is True
    assert not listening(st2["port"])


def test_stop_never_signals_a_pid_that_is_not_our_server(home, tmp_path):
    d = home / "mariadb"
    d.mkdir(parents=True)
    # a recycled pid: the state file names a live process that is not mariadbd on our datadir (this test run)
    (d / "server.json").write_text(json.dumps({"pid": os.getpid(), "port": 1, "url": "mysql://root@127.0.0.1:1/",
                                                "datadir": str(d / "data"), "socket": str(d / "s.sock")}))
    assert mariadb.throwaway_status(home) is None
    assert mariadb.stop_throwaway(home) is False  # and we are still alive to assert it


def test_sori_mysql_url_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("SORI_MYSQL_URL", "mysql://root@127.0.0.1:3306/")
    monkeypatch.setenv("SORI_HOME", str(tmp_path))
    assert mariadb.mysql_server_url() == "mysql://root@127.0.0.1:3306/"
    assert not (tmp_path / "mariadb" / "server.json").exists()  # nothing started


@pytest.mark.parametrize("name", ["", "a-b", "x;DROP DATABASE y", "a" * 65, "ünï"])
def test_database_names_are_validated(name):
    with pytest.raises(ValueError):
        mariadb._valid_name(name)
