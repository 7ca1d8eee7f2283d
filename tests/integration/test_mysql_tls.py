"""TLS to MySQL as the functions connect to RDS: the server certificate is verified against the CA bundle.

A throwaway MariaDB with a certificate from a CA made here stands in for RDS (whose CAs are in
sori/certs/rds-global-bundle.pem): the right CA connects over TLS, a wrong CA, a wrong host name or a server
without TLS are refused.
"""
from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import pymysql
import pytest

from local import mariadb
from sori.stores.mysql.connection import RDS_CA_BUNDLE, open_connection, tls_options


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


def _connect(server, host: str, ca: Path):
    return open_connection({"host": host, "port": server["port"], "user": "root", "password": "",
                            "ssl": tls_options(str(ca))})


def test_the_right_ca_connects_over_tls(tls_server):
    conn = _connect(tls_server, "localhost", tls_server["dir"] / "ca.pem")
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()["Value"].startswith("TLSv1")
    conn.close()


def test_a_certificate_from_another_ca_is_refused(tls_server):
    with pytest.raises(pymysql.err.OperationalError) as e:
        _connect(tls_server, "localhost", tls_server["dir"] / "other-ca.pem")
    assert "CERTIFICATE_VERIFY_FAILED" in str(e.value) or isinstance(e.value.__cause__, ssl.SSLError)


def test_the_rds_bundle_does_not_vouch_for_a_server_it_did_not_sign(tls_server):
    with pytest.raises(pymysql.err.OperationalError):
        _connect(tls_server, "localhost", RDS_CA_BUNDLE)


def test_a_certificate_for_another_host_name_is_refused(tls_server):
    with pytest.raises(pymysql.err.OperationalError) as e:
        _connect(tls_server, "127.0.0.1", tls_server["dir"] / "ca.pem")  # the same server; its cert names localhost
    assert "match" in str(e.value).lower() or "verify" in str(e.value).lower()


def test_a_server_without_tls_is_refused(mysql_server_url):
    from sori.stores.mysql.connection import parse_url

    plain = parse_url(mysql_server_url)  # the ordinary test MariaDB has no TLS configured
    with pytest.raises(pymysql.err.OperationalError):
        open_connection({**plain, "ssl": tls_options()})


def test_the_bundle_holds_the_rds_roots_for_seoul():
    pem = RDS_CA_BUNDLE.read_text()
    assert pem.count("BEGIN CERTIFICATE") > 100
    ctx = ssl.create_default_context(cafile=str(RDS_CA_BUNDLE))
    subjects = [rdn[0][1] for c in ctx.get_ca_certs() for rdn in c["subject"] if rdn[0][0] == "commonName"]
    assert "Amazon RDS ap-northeast-2 Root CA RSA2048 G1" in subjects


def test_rds_connections_use_tls_and_local_urls_do_not(monkeypatch):
    from sori.settings import Settings
    from sori.stores.mysql import connection

    monkeypatch.setattr(connection, "secret_value", lambda arn, key, **kw: {"username": "u", "password": "p"}[key])
    rds = connection.connection_params(Settings(mysql_host="db.example", mysql_secret_arn="arn:secret"))
    assert rds["ssl"]["ca"] == str(RDS_CA_BUNDLE) and rds["ssl"]["check_hostname"] is True
    local = connection.connection_params(Settings(mysql_url="mysql://root@127.0.0.1:3306/sori"))
    assert "ssl" not in local
