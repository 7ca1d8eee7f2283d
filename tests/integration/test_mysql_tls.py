"""TLS to MySQL as the functions connect to RDS: the server certificate is verified against the CA bundle.

A throwaway MariaDB with a certificate from a CA made here stands in for RDS (whose CAs are in
sori/certs/rds-global-bundle.pem): the right CA connects over TLS, a wrong CA, a wrong host name or a server
without TLS are refused.
"""
from __future__ import annotations

import ssl
from pathlib import Path

import pymysql
import pytest
from tls_mariadb import tls_server  # noqa: F401 - a fixture

from sori.stores.mysql.connection import RDS_CA_BUNDLE, open_connection, tls_options


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
