"""Connections, transactions and the small SQL helpers every store uses (see the package docstring)."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from sori.settings import Settings, get_settings, secret_value

if TYPE_CHECKING:  # pragma: no cover
    import pymysql

log = logging.getLogger("sori.stores.mysql")

_UTC = dt.UTC
_CHUNK = 1000  # rows per INSERT / ids per IN (...) list
_DB_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


# --- connections ------------------------------------------------------------------------------------------

def parse_url(url: str) -> dict[str, Any]:
    """pymysql keyword arguments from ``mysql://user:password@host:port/database?unix_socket=/path``.

    ``mysql+pymysql://`` is accepted too; user and password may be percent-encoded.

    >>> parse_url("mysql://root@127.0.0.1:3307/sori_test")
    {'host': '127.0.0.1', 'port': 3307, 'user': 'root', 'password': '', 'database': 'sori_test'}
    >>> parse_url("mysql://u:p%40ss@db/")["password"], parse_url("mysql://u:p%40ss@db/")["database"]
    ('p@ss', None)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mysql+pymysql", "mariadb"):
        raise ValueError(f"not a mysql:// URL: {url!r}")
    kw: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username) if parts.username else "root",
        "password": unquote(parts.password) if parts.password else "",
        "database": unquote(parts.path.lstrip("/")) or None,
    }
    query = parse_qs(parts.query)
    if "unix_socket" in query:
        kw["unix_socket"] = query["unix_socket"][0]
    return kw


def with_database(url: str, database: str | None) -> str:
    """The same server URL naming another database (``None``: no database).

    >>> with_database("mysql://root@127.0.0.1:3306/", "sori")
    'mysql://root@127.0.0.1:3306/sori'
    """
    parts = urlsplit(url)
    return parts._replace(path="/" + (database or "")).geturl()


def connection_params(settings: Settings | None = None) -> dict[str, Any]:
    """pymysql keyword arguments from the settings: ``mysql_url`` when set (local), else host + secret (RDS)."""
    settings = settings or get_settings()
    if settings.mysql_url:
        return parse_url(settings.mysql_url)
    if not settings.mysql_host:
        raise KeyError("no MySQL configured: set SORI_MYSQL_URL, or SORI_MYSQL_HOST and SORI_MYSQL_SECRET_ARN")
    return {
        "host": settings.mysql_host,
        "port": settings.mysql_port,
        "user": secret_value(settings.mysql_secret_arn, "username", settings=settings),
        "password": secret_value(settings.mysql_secret_arn, "password", settings=settings),
        "database": settings.mysql_database,
        "ssl": tls_options(settings.mysql_ssl_ca),
    }


RDS_CA_BUNDLE = Path(__file__).resolve().parents[2] / "certs" / "rds-global-bundle.pem"


def tls_options(ca: str = "") -> dict[str, Any]:
    """pymysql ``ssl``: TLS required, the server certificate and host name verified against ``ca``.

    ``ca`` empty: Amazon RDS's global bundle shipped in ``sori/certs`` (see its README). A server that does not
    speak TLS, or whose certificate another CA signed, or made out to another host, is refused.

    >>> opts = tls_options(); opts["check_hostname"], opts["verify_mode"].name, Path(opts["ca"]).name
    (True, 'CERT_REQUIRED', 'rds-global-bundle.pem')
    """
    import ssl

    return {"ca": ca or str(RDS_CA_BUNDLE), "check_hostname": True, "verify_mode": ssl.CERT_REQUIRED}


def open_connection(params: Mapping[str, Any] | str, **overrides: Any) -> pymysql.Connection:
    """A new (uncached) connection: utf8mb4, autocommit off, UTC session time zone, dict rows.

    ``params`` is a URL or :func:`parse_url`-style keyword arguments.
    """
    import pymysql
    import pymysql.cursors

    kw = parse_url(params) if isinstance(params, str) else dict(params)
    kw.update(
        charset="utf8mb4",
        collation="utf8mb4_unicode_ci",
        autocommit=False,
        cursorclass=pymysql.cursors.DictCursor,
        init_command="SET time_zone = '+00:00'",
        connect_timeout=5,
    )
    kw.update(overrides)
    return pymysql.connect(**kw)


_local = threading.local()


def connect(settings: Settings | None = None) -> pymysql.Connection:
    """The process's (thread's) cached connection for these settings, re-pinged and reconnected if dropped.

    A Lambda calls this on every invocation and gets the same connection while it stays healthy.
    """
    import pymysql

    params = connection_params(settings)
    key = tuple(sorted((k, str(v)) for k, v in params.items()))
    cache: dict[tuple[tuple[str, str], ...], Any] = _local.__dict__.setdefault("conns", {})
    conn: pymysql.Connection | None = cache.get(key)
    if conn is not None:
        try:
            conn.ping(reconnect=False)
            return conn
        except pymysql.Error:  # dropped (idle timeout, failover, KILL): replace it
            log.warning("cached MySQL connection is gone; opening a new one")
            with contextlib.suppress(Exception):
                conn.close()
            cache.pop(key, None)
    conn = open_connection(params)
    cache[key] = conn
    return conn


def close_cached() -> None:
    """Close this thread's cached connections (tests, shutdown)."""
    cache: dict[str, Any] = _local.__dict__.setdefault("conns", {})
    for conn in cache.values():
        with contextlib.suppress(Exception):
            conn.close()
    cache.clear()


@contextlib.contextmanager
def transaction(conn: pymysql.Connection) -> Iterator[Any]:
    """A cursor inside one explicit transaction: committed on success, rolled back on any exception."""
    cur = conn.cursor()
    try:
        conn.begin()
        yield cur
        conn.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            conn.rollback()
        raise
    finally:
        with contextlib.suppress(Exception):
            cur.close()


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _chunks(seq: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def to_db_time(value: dt.datetime | str | None) -> dt.datetime | None:
    """A datetime (or ISO string) as the naive UTC value the DATETIME columns hold; naive input is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    return value


def _from_db_time(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=_UTC) if value is not None else None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(_UTC).replace(tzinfo=None)


def _json_load(value: Any) -> Any:
    if value is None or isinstance(value, (list, dict)):
        return value
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    return json.loads(value)
