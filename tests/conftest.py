"""Shared fixtures: moto server (AWS), MariaDB (RDS), the Spotify emulator.

Nothing here reaches beyond loopback.
"""
from __future__ import annotations

import os
import socket

import pytest

# Fake credentials for moto; never real ones. Set before any boto3 client is created.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
os.environ.pop("AWS_PROFILE", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    """A moto server on 127.0.0.1 for the whole test session; ``AWS_ENDPOINT_URL`` points boto3 at it."""
    from moto.server import ThreadedMotoServer

    from local import moto_patches

    moto_patches.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    old = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    yield url
    if old is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = old
    server.stop()


@pytest.fixture()
def aws(moto_url):
    """moto server with its state reset before the test (fresh resources per test)."""
    import requests

    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    return moto_url


@pytest.fixture(scope="session")
def mysql_server_url():
    """URL of a MariaDB server: ``SORI_MYSQL_URL`` when set, else a throwaway ``mariadbd`` under .sori/."""
    from local.mariadb import mysql_server_url as _url
    from local.mariadb import stop_if_started_here

    yield _url()
    stop_if_started_here()  # a throwaway this session started; never a server someone else runs


@pytest.fixture()
def mysql_url(mysql_server_url):
    """A fresh, migrated database of its own for one test; dropped afterwards."""
    from local.mariadb import drop_database, fresh_database

    url = fresh_database(mysql_server_url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def emulator_session():
    """One Spotify emulator for the session (the catalog loads once)."""
    from local.emulator import SpotifyEmulator

    emu = SpotifyEmulator(mode="extended").start()
    yield emu
    emu.stop()


@pytest.fixture()
def emulator(emulator_session):
    """The session's Spotify emulator, back to extended mode with no faults and zeroed counters."""
    emu = emulator_session
    emu.configure(mode="extended", latency_ms=0, burst_429=None, burst_5xx=None, quota_exceeded=False,
                  rate_limit_per_30s=None, now_ms=None)
    emu.reset_stats()
    return emu
