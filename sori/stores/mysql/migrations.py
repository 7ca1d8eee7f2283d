"""Schema migrations: the packaged ``sori/migrations/*.sql`` files, applied in order under a lock."""
from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sori.stores.mysql.connection import _utcnow, log, transaction

if TYPE_CHECKING:  # pragma: no cover
    import pymysql

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


class MigrationError(RuntimeError):
    """The schema could not be brought up to date."""

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


def migrate(conn: pymysql.Connection, directory: Path = MIGRATIONS_DIR, *, lock_timeout: int = 60) -> list[int]:
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


def applied_versions(conn: pymysql.Connection) -> list[int]:
    """Versions recorded in ``schema_migrations`` (empty if it does not exist yet)."""
    with transaction(conn) as cur:
        cur.execute("SELECT COUNT(*) AS n FROM information_schema.tables"
                    " WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'")
        if not cur.fetchone()["n"]:
            return []
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [r["version"] for r in cur.fetchall()]
