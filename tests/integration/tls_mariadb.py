"""A throwaway MariaDB that speaks TLS with a certificate for ``localhost`` from a CA made here (the stand-in for
RDS, whose CAs are in sori/certs/rds-global-bundle.pem). ``other-ca.pem`` is a CA that signed nothing.

Import the fixture into a test module: ``from tls_mariadb import tls_server``. It yields ``{"dir", "port"}``;
``root`` has no password.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from local import mariadb


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    _make_ca(d, "ca")
    _make_ca(d, "other-ca")
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
             "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.cnf", "-out", "server.pem", cwd=d)
    server, installer = mariadb.ensure_installed()
    datadir = d / "data"
    mariadb._init_datadir(installer, datadir)
    port = mariadb._free_port()
    cmd = [server, "--no-defaults", f"--datadir={datadir}", f"--socket={d / 'sock'}", f"--port={port}",
           "--bind-address=127.0.0.1", "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--skip-name-resolve",
           f"--ssl-ca={d / 'ca.pem'}", f"--ssl-cert={d / 'server.pem'}", f"--ssl-key={d / 'server.key'}",
           f"--log-error={d / 'err.log'}", f"--pid-file={d / 'pid'}"]
    if os.geteuid() == 0:
        cmd.append("--user=root")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not mariadb._accepts(port):
        assert proc.poll() is None and time.monotonic() < deadline, (d / "err.log").read_text()[-2000:]
        time.sleep(0.2)
    yield {"dir": d, "port": port}
    proc.terminate()
    proc.wait(timeout=30)
    shutil.rmtree(d, ignore_errors=True)
