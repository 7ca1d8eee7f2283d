"""RDS MySQL (MariaDB locally): the artist catalog, name aliases and the related-artist generations.

One connection per process (per thread), reused across Lambda invocations and re-pinged before each use::

    from sori.stores.mysql import ArtistStore, RelatedStore, connect

    conn = connect()                                  # SORI_MYSQL_URL, or SORI_MYSQL_HOST + the secret
    artists = ArtistStore(conn)
    artists.upsert_artists([{"id": "3Nrfpe0tUJi4K4DXYWgMUX", "name": "BTS", "genres": ["k-pop"]}])
    artists.find_by_name_norm("bts")                  # -> [{"id": "3Nrfpe0tUJi4K4DXYWgMUX", "name": "BTS", ...}]
    related = RelatedStore(conn)
    gen = related.write_generation(rows, built_at)    # publish a whole new set atomically
    related.current("3Nrfpe0tUJi4K4DXYWgMUX", limit=5)

Rules kept here: pymysql only; every value goes through query parameters (the only SQL built from strings is
``IN (%s, %s, …)`` placeholder lists and a validated database name); utf8mb4; autocommit off, and every store
method runs in its own explicit transaction that ends before it returns (so a cached connection never sits on
an old snapshot); datetimes are stored as naive UTC and returned timezone-aware (UTC).

pymysql is imported lazily: importing this module costs nothing until a connection is made.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, NamedTuple, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from sori.settings import Settings, get_settings, secret_value
from sori.text import normalize

if TYPE_CHECKING:  # pragma: no cover
    import pymysql

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
ALIASES_TSV = Path(__file__).resolve().parent.parent / "data" / "aliases.tsv"
_UTC = dt.timezone.utc
_CHUNK = 1000  # rows per INSERT / ids per IN (...) list
_DB_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class MigrationError(RuntimeError):
    """The schema could not be brought up to date."""


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
    }


def open_connection(params: Mapping[str, Any] | str, **overrides: Any) -> "pymysql.Connection":
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


def connect(settings: Settings | None = None) -> "pymysql.Connection":
    """The process's (thread's) cached connection for these settings, re-pinged and reconnected if dropped.

    A Lambda calls this on every invocation and gets the same connection while it stays healthy.
    """
    import pymysql

    params = connection_params(settings)
    key = tuple(sorted((k, str(v)) for k, v in params.items()))
    cache: dict = _local.__dict__.setdefault("conns", {})
    conn = cache.get(key)
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
    cache: dict = _local.__dict__.setdefault("conns", {})
    for conn in cache.values():
        with contextlib.suppress(Exception):
            conn.close()
    cache.clear()


@contextlib.contextmanager
def transaction(conn: "pymysql.Connection") -> Iterator[Any]:
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


# --- migrations -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def statements(self) -> list[str]:
        """The file's statements: ``--`` comment lines dropped, split on ``;`` at the end of a line."""
        lines = [ln for ln in self.sql.splitlines() if not ln.lstrip().startswith("--")]
        body = "\n".join(lines)
        return [s.strip() for s in re.split(r";[ \t]*(?:--[^\n]*)?(?:\n|\Z)", body) if s.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """``NNN_name.sql`` files in version order."""
    out = []
    for path in sorted(directory.glob("*.sql")):
        m = re.match(r"^(\d+)_(\w+)\.sql$", path.name)
        if not m:
            raise MigrationError(f"bad migration file name {path.name!r} (want NNN_name.sql)")
        out.append(Migration(int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return sorted(out, key=lambda m: m.version)


def migrate(conn: "pymysql.Connection", directory: Path = MIGRATIONS_DIR, *, lock_timeout: int = 60) -> list[int]:
    """Apply pending migrations in order; returns the versions applied by this call (``[]`` when up to date).

    Idempotent. Concurrent callers serialise on ``GET_LOCK`` (named after the database), so two Lambdas or
    test workers migrating at once apply each version exactly once. Applied versions are recorded in
    ``schema_migrations`` with a checksum; a changed file that was already applied is logged, not re-run.
    """
    migrations = load_migrations(directory)
    with transaction(conn) as cur:
        cur.execute("SELECT DATABASE() AS db")
        db = cur.fetchone()["db"]
    if not db:
        raise MigrationError("the connection has no database selected")
    lock = f"sori_migrate:{db}"
    with transaction(conn) as cur:
        cur.execute("SELECT GET_LOCK(%s, %s) AS ok", (lock, lock_timeout))
        if cur.fetchone()["ok"] != 1:
            raise MigrationError(f"could not take the migration lock {lock!r} within {lock_timeout}s")
    applied_now: list[int] = []
    try:
        with transaction(conn) as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(191) NOT NULL,"
                " checksum CHAR(64) NOT NULL, applied_at DATETIME(6) NOT NULL"
                ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        with transaction(conn) as cur:
            cur.execute("SELECT version, checksum FROM schema_migrations")
            done = {r["version"]: r["checksum"] for r in cur.fetchall()}
        for m in migrations:
            if m.version in done:
                if done[m.version] != m.checksum:
                    log.warning("migration %03d_%s changed after it was applied; not re-running it",
                                m.version, m.name)
                continue
            log.info("applying migration %03d_%s", m.version, m.name)
            with transaction(conn) as cur:  # DDL commits implicitly: statements must be idempotent
                for stmt in m.statements():
                    cur.execute(stmt)
                cur.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                            " VALUES (%s, %s, %s, %s)", (m.version, m.name, m.checksum, _utcnow()))
            applied_now.append(m.version)
    finally:
        with contextlib.suppress(Exception), transaction(conn) as cur:
            cur.execute("SELECT RELEASE_LOCK(%s)", (lock,))
    return applied_now


def applied_versions(conn: "pymysql.Connection") -> list[int]:
    """Versions recorded in ``schema_migrations`` (empty if it does not exist yet)."""
    with transaction(conn) as cur:
        cur.execute("SELECT COUNT(*) AS n FROM information_schema.tables"
                    " WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'")
        if not cur.fetchone()["n"]:
            return []
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [r["version"] for r in cur.fetchall()]


# --- artists ----------------------------------------------------------------------------------------------

_ARTIST_COLS = "id, name, name_norm, image_url, genres, popularity, followers, source, created_at, refreshed_at"


def _artist_order(t: str = "") -> str:
    """Best match first when several artists share a name: popularity, then followers (unknowns last)."""
    return (f"ORDER BY ({t}popularity IS NULL), {t}popularity DESC, ({t}followers IS NULL), {t}followers DESC,"
            f" {t}id")


def _artist_out(row: Mapping[str, Any]) -> dict:
    out = dict(row)
    out["genres"] = _json_load(out.get("genres"))
    for k in ("created_at", "refreshed_at"):
        if k in out:
            out[k] = _from_db_time(out[k])
    return out


def _artist_in(row: Mapping[str, Any], default_source: str, now: dt.datetime) -> tuple:
    artist_id = row.get("id") or row.get("artist_id")
    name = row.get("name")
    if not artist_id or not isinstance(artist_id, str):
        raise ValueError(f"artist row without an id: {row!r}")
    if not name or not isinstance(name, str):
        raise ValueError(f"artist {artist_id} without a name")
    genres = row.get("genres")
    if genres is not None:
        if isinstance(genres, str) or not all(isinstance(g, str) for g in genres):
            raise ValueError(f"artist {artist_id}: genres must be a list of strings")
        genres = json.dumps(list(genres), ensure_ascii=False)
    return (artist_id, name, normalize(name), row.get("image_url"), genres, row.get("popularity"),
            row.get("followers"), row.get("source") or default_source, now, to_db_time(row.get("refreshed_at")))


class ArtistStore:
    """The ``artists`` catalog and ``artist_aliases``.

    >>> store = ArtistStore(connect())                                        # doctest: +SKIP
    >>> store.upsert_artists([{"id": "x1", "name": "Red Velvet", "genres": ["k-pop"]}])   # doctest: +SKIP
    1
    >>> [a["name"] for a in store.find_by_name_norm("redvelvet")]           # doctest: +SKIP
    ['Red Velvet']
    """

    def __init__(self, conn: "pymysql.Connection"):
        self.conn = conn

    def upsert_artists(self, rows: Iterable[Mapping[str, Any]], *, source: str = "catalog") -> int:
        """Insert or update artists; returns how many rows were given.

        A row has ``id`` (or ``artist_id``, as in an ``artist`` record's data) and ``name``; optional
        ``image_url``, ``genres`` (list), ``popularity``, ``followers``, ``source``, ``refreshed_at``
        (datetime or ISO string). ``name_norm`` is computed here. On update, a value the row does not carry
        (``None``) keeps the stored one — Spotify's development mode drops genres and popularity, and that
        must not erase what an earlier refresh learnt; ``source`` and ``created_at`` keep their first values.
        """
        now = _utcnow()
        values = [_artist_in(r, source, now) for r in rows]
        if not values:
            return 0
        sql = (
            f"INSERT INTO artists ({_ARTIST_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON DUPLICATE KEY UPDATE name = VALUES(name), name_norm = VALUES(name_norm),"
            " image_url = COALESCE(VALUES(image_url), image_url), genres = COALESCE(VALUES(genres), genres),"
            " popularity = COALESCE(VALUES(popularity), popularity),"
            " followers = COALESCE(VALUES(followers), followers),"
            " refreshed_at = COALESCE(VALUES(refreshed_at), refreshed_at)"
        )
        with transaction(self.conn) as cur:
            for chunk in _chunks(values):
                cur.executemany(sql, chunk)
        return len(values)

    def get(self, artist_id: str) -> dict | None:
        """One artist, or ``None``."""
        return self.get_many([artist_id]).get(artist_id)

    def get_many(self, ids: Iterable[str]) -> dict[str, dict]:
        """Artists by id, as ``{id: artist}`` in the order asked (unknown ids are absent)."""
        ids = list(dict.fromkeys(ids))
        found: dict[str, dict] = {}
        with transaction(self.conn) as cur:
            for chunk in _chunks(ids):
                cur.execute(f"SELECT {_ARTIST_COLS} FROM artists WHERE id IN ({_placeholders(len(chunk))})",
                            tuple(chunk))
                found.update((r["id"], _artist_out(r)) for r in cur.fetchall())
        return {i: found[i] for i in ids if i in found}

    def all_artists(self) -> list[dict]:
        """Every artist, by id."""
        return self._artists(f"SELECT {_ARTIST_COLS} FROM artists ORDER BY id")

    def stale_artists(self, older_than: dt.datetime, limit: int | None = None) -> list[dict]:
        """Artists never refreshed or last refreshed before ``older_than``, stalest first (never-refreshed first)."""
        sql = (f"SELECT {_ARTIST_COLS} FROM artists WHERE refreshed_at IS NULL OR refreshed_at < %s"
               " ORDER BY (refreshed_at IS NOT NULL), refreshed_at, id")
        args: tuple = (to_db_time(older_than),)
        if limit is not None:
            sql += " LIMIT %s"
            args += (int(limit),)
        return self._artists(sql, args)

    def mark_refreshed(self, ids: Iterable[str], at: dt.datetime) -> int:
        """Set ``refreshed_at`` for these artists; returns how many exist."""
        ids = list(dict.fromkeys(ids))
        n = 0
        with transaction(self.conn) as cur:
            for chunk in _chunks(ids):
                cur.execute(f"UPDATE artists SET refreshed_at = %s WHERE id IN ({_placeholders(len(chunk))})",
                            (to_db_time(at), *chunk))
                cur.execute(f"SELECT COUNT(*) AS n FROM artists WHERE id IN ({_placeholders(len(chunk))})",
                            tuple(chunk))
                n += cur.fetchone()["n"]
        return n

    def find_by_name_norm(self, norm: str) -> list[dict]:
        """Artists whose normalised name equals ``normalize(norm)``, best first (popularity, then followers)."""
        return self._artists(f"SELECT {_ARTIST_COLS} FROM artists WHERE name_norm = %s {_artist_order()}",
                             (normalize(norm),))

    def find_by_alias(self, norm: str) -> list[dict]:
        """Artists an alias points at (``normalize(norm)`` against ``artist_aliases``), best first."""
        cols = ", ".join(f"a.{c.strip()}" for c in _ARTIST_COLS.split(","))
        return self._artists(f"SELECT {cols} FROM artist_aliases al JOIN artists a ON a.id = al.artist_id"
                             f" WHERE al.alias_norm = %s {_artist_order('a.')}", (normalize(norm),))

    def add_alias(self, alias_norm: str, artist_id: str, source: str = "curated") -> bool:
        """Record an alias (normalised here too; idempotent). Returns whether it was new.

        Raises ``ValueError`` for an empty alias and pymysql's ``IntegrityError`` for an unknown artist.
        """
        norm = normalize(alias_norm)
        if not norm:
            raise ValueError(f"alias {alias_norm!r} normalises to nothing")
        with transaction(self.conn) as cur:
            n = cur.execute("INSERT IGNORE INTO artist_aliases (alias_norm, artist_id, source, created_at)"
                            " SELECT %s, id, %s, %s FROM artists WHERE id = %s",
                            (norm, source, _utcnow(), artist_id))
            if n == 0:
                cur.execute("SELECT 1 FROM artists WHERE id = %s", (artist_id,))
                if cur.fetchone() is None:
                    import pymysql
                    raise pymysql.IntegrityError(1452, f"no artist {artist_id!r} for alias {norm!r}")
        return n == 1

    def aliases(self, artist_id: str | None = None) -> list[tuple[str, str, str]]:
        """``(alias_norm, artist_id, source)`` rows, all or one artist's."""
        sql = "SELECT alias_norm, artist_id, source FROM artist_aliases"
        args: tuple = ()
        if artist_id is not None:
            sql += " WHERE artist_id = %s"
            args = (artist_id,)
        return [(r["alias_norm"], r["artist_id"], r["source"]) for r in self._select(sql + " ORDER BY 1, 2", args)]

    def name_index(self) -> list[tuple[str, str, str]]:
        """``(artist_id, name, name_norm)`` for every artist: what the chatbot's fuzzy matcher loads once."""
        return [(r["id"], r["name"], r["name_norm"])
                for r in self._select("SELECT id, name, name_norm FROM artists ORDER BY id")]

    def _select(self, sql: str, args: tuple = ()) -> list[dict]:
        with transaction(self.conn) as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _artists(self, sql: str, args: tuple = ()) -> list[dict]:
        return [_artist_out(r) for r in self._select(sql, args)]


class SeedReport(NamedTuple):
    inserted: int  # new alias rows
    existing: int  # alias rows already present
    missing: list[str]  # artist names not in the catalog (their aliases were skipped)


def read_aliases(path: Path | str = ALIASES_TSV) -> list[tuple[str, str]]:
    """``(alias, artist_name)`` pairs from a TSV (``#`` comment lines and blank lines ignored)."""
    pairs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 2 or not cols[0].strip() or not cols[1].strip():
            raise ValueError(f"{path}:{n}: want 'alias<TAB>artist_name', got {line!r}")
        pairs.append((cols[0].strip(), cols[1].strip()))
    return pairs


def seed_aliases(conn: "pymysql.Connection", path: Path | str = ALIASES_TSV, *, source: str = "curated") -> SeedReport:
    """Load curated aliases: each row's artist name is resolved by exact normalised name (the best match when
    several share it) and the alias is added; names not in ``artists`` are skipped and reported."""
    store = ArtistStore(conn)
    inserted = existing = 0
    missing: list[str] = []
    resolved: dict[str, str | None] = {}
    for alias, artist_name in read_aliases(path):
        if artist_name not in resolved:
            found = store.find_by_name_norm(artist_name)
            resolved[artist_name] = found[0]["id"] if found else None
            if not found:
                missing.append(artist_name)
        artist_id = resolved[artist_name]
        if artist_id is None:
            continue
        if store.add_alias(alias, artist_id, source):
            inserted += 1
        else:
            existing += 1
    if missing:
        log.info("seed_aliases: %d artist names not in the catalog: %s", len(missing), ", ".join(missing))
    return SeedReport(inserted, existing, missing)


# --- related artists --------------------------------------------------------------------------------------

class StaleGenerationError(RuntimeError):
    """A build finished after a newer one was published; it is not flipped in (that would go backwards)."""


def _related_in(row: Mapping[str, Any]) -> tuple:
    artist_id, related_id, rank = row.get("artist_id"), row.get("related_id"), row.get("rank")
    if not artist_id or not related_id or not isinstance(artist_id, str) or not isinstance(related_id, str):
        raise ValueError(f"related row needs artist_id and related_id strings: {row!r}")
    if artist_id == related_id:
        raise ValueError(f"artist {artist_id} related to itself")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"related row {artist_id}->{related_id}: rank must be an int >= 1, got {rank!r}")
    score = float(row.get("score"))  # type: ignore[arg-type]
    if not math.isfinite(score):
        raise ValueError(f"related row {artist_id}->{related_id}: score must be finite, got {score!r}")
    reason = row.get("reason")
    if reason is not None and not isinstance(reason, Mapping):
        raise ValueError(f"related row {artist_id}->{related_id}: reason must be a dict")
    return (artist_id, related_id, rank, score, None if reason is None else json.dumps(reason, ensure_ascii=False))


def _check_unique(values: Sequence[tuple]) -> None:
    ranks = {(v[0], v[2]) for v in values}
    pairs = {(v[0], v[1]) for v in values}
    if len(ranks) != len(values):
        raise ValueError("related rows repeat an (artist_id, rank)")
    if len(pairs) != len(values):
        raise ValueError("related rows repeat an (artist_id, related_id) pair")


class RelatedStore:
    """Related artists, published a whole generation at a time.

    ``write_generation`` inserts the new rows under a fresh generation number that no reader looks at, then
    flips the single-row ``related_generation`` pointer in one short transaction. ``current`` joins through
    the pointer in one statement, so a reader sees the old set or the new set, never a mix; a build that dies
    anywhere before the flip (exception, lost connection, killed Lambda) leaves the previous set served in full.
    After the flip, generations older than the previous one are deleted (the previous one is kept, so a reader
    that read the pointer just before the flip still finds its rows).
    """

    def __init__(self, conn: "pymysql.Connection", *, chunk_size: int = _CHUNK):
        self.conn = conn
        self.chunk_size = chunk_size

    def write_generation(self, rows: Iterable[Mapping[str, Any]], built_at: dt.datetime) -> int:
        """Publish ``rows`` (``artist_id, related_id, rank, score, reason``) as the new current set; returns its
        generation number. Every row is validated before anything is written (``ValueError``); an empty set is
        refused too, since publishing it would blank every answer. Raises :class:`StaleGenerationError` when a
        newer generation was published while this one was being written."""
        built = to_db_time(built_at)
        if built is None:
            raise ValueError("built_at is required")
        values = [_related_in(r) for r in rows]
        if not values:
            raise ValueError("refusing to publish an empty related-artists generation")
        _check_unique(values)
        with transaction(self.conn) as cur:
            cur.execute("INSERT INTO related_builds (status, started_at) VALUES ('building', %s)", (_utcnow(),))
            generation = cur.lastrowid
        sql = ("INSERT INTO related_artists (generation, artist_id, related_id, `rank`, score, reason, built_at)"
               " VALUES (%s, %s, %s, %s, %s, %s, %s)")
        for chunk in _chunks(values, self.chunk_size):
            with transaction(self.conn) as cur:
                cur.executemany(sql, [(generation, *v, built) for v in chunk])
        previous = self._flip(generation, built, len(values))
        self._prune(generation, previous)
        log.info("related generation %d is current (%d rows; previous %s)", generation, len(values), previous)
        return generation

    def _flip(self, generation: int, built: dt.datetime, row_count: int) -> int | None:
        now = _utcnow()
        with transaction(self.conn) as cur:
            cur.execute("SELECT generation FROM related_generation WHERE id = 1 FOR UPDATE")
            row = cur.fetchone()
            previous = row["generation"] if row else None
            if previous is not None and previous > generation:
                raise StaleGenerationError(f"generation {previous} is already current; not flipping back to"
                                           f" {generation}")
            cur.execute("SELECT COUNT(*) AS n FROM related_artists WHERE generation = %s", (generation,))
            stored = cur.fetchone()["n"]
            if stored != row_count:  # e.g. pruned by a concurrent newer build
                raise RuntimeError(f"generation {generation} has {stored} rows stored, {row_count} written")
            if row is None:
                cur.execute("INSERT INTO related_generation (id, generation, built_at, flipped_at)"
                            " VALUES (1, %s, %s, %s)", (generation, built, now))
            else:
                cur.execute("UPDATE related_generation SET generation = %s, built_at = %s, flipped_at = %s"
                            " WHERE id = 1", (generation, built, now))
            cur.execute("UPDATE related_builds SET status = 'current', built_at = %s, finished_at = %s,"
                        " row_count = %s WHERE generation = %s", (built, now, row_count, generation))
            if previous is not None:
                cur.execute("UPDATE related_builds SET status = 'previous' WHERE generation = %s", (previous,))
        return previous

    def _prune(self, generation: int, previous: int | None) -> None:
        """Delete generations older than the new one except ``previous`` (also sweeps rows of crashed builds).
        Newer generations (a concurrent build still writing) are left alone."""
        keep = previous if previous is not None else generation
        while True:
            with transaction(self.conn) as cur:
                n = cur.execute("DELETE FROM related_artists WHERE generation < %s AND generation <> %s"
                                " LIMIT 10000", (generation, keep))
            if n < 10000:
                break
        with transaction(self.conn) as cur:
            cur.execute("UPDATE related_builds SET status = 'retired' WHERE generation < %s AND generation <> %s"
                        " AND status <> 'retired'", (generation, keep))

    def current_generation(self) -> int | None:
        """The generation readers see (``None`` before the first build)."""
        with transaction(self.conn) as cur:
            cur.execute("SELECT generation FROM related_generation WHERE id = 1")
            row = cur.fetchone()
        return row["generation"] if row else None

    def current(self, artist_id: str, limit: int = 10) -> list[dict]:
        """The current generation's related artists of one artist, by rank: ``related_id, rank, score,
        reason (dict), built_at, generation`` plus the related artist's ``name``, ``image_url`` and ``genres``
        from ``artists`` (``None`` when unknown) — everything a reply needs, in one query."""
        with transaction(self.conn) as cur:
            cur.execute(
                "SELECT r.related_id, r.`rank`, r.score, r.reason, r.built_at, r.generation,"
                " a.name, a.image_url, a.genres"
                " FROM related_generation g"
                " JOIN related_artists r ON r.generation = g.generation AND r.artist_id = %s"
                " LEFT JOIN artists a ON a.id = r.related_id"
                " WHERE g.id = 1 ORDER BY r.`rank` LIMIT %s", (artist_id, int(limit)))
            rows = cur.fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["reason"] = _json_load(d["reason"])
            d["genres"] = _json_load(d["genres"])
            d["built_at"] = _from_db_time(d["built_at"])
            out.append(d)
        return out

    def generation_counts(self) -> dict[int, int]:
        """Rows stored per generation (diagnostics and tests)."""
        with transaction(self.conn) as cur:
            cur.execute("SELECT generation, COUNT(*) AS n FROM related_artists GROUP BY generation")
            return {r["generation"]: r["n"] for r in cur.fetchall()}
