"""``sori db …``: the local RDS stand-in (throwaway MariaDB) and schema chores.

    sori db start            # start (or reuse) the throwaway MariaDB, print its server URL
    sori db status           # is it running? pid, port, data directory, log
    sori db stop             # stop it (``sori down`` does this too)
    sori db migrate          # apply pending migrations to the stack's database (or --url)
    sori db seed-aliases     # load sori/data/aliases.tsv into artist_aliases
"""
from __future__ import annotations

import json
import os

import typer

db = typer.Typer(help="Local MySQL (MariaDB) for the RDS tables.", no_args_is_help=True)


def _database_url(url: str | None) -> str:
    if url:
        return url
    try:
        from local import stack

        info = stack.load_stack(required=False) or {}
    except Exception:  # pragma: no cover - the stack module is another area's
        info = {}
    found = info.get("mysql") or os.environ.get("SORI_MYSQL_URL")
    if not found:
        raise typer.BadParameter("no database: pass --url mysql://…/db, set SORI_MYSQL_URL, or `sori up` first")
    return found


@db.command()
def start() -> None:
    """Start (or reuse) the throwaway MariaDB under .sori/ and print its server URL."""
    from local import mariadb

    print(mariadb.ensure_throwaway())


@db.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show the throwaway server's pid, port, data directory and log (exit 1 when it is not running)."""
    from local import mariadb

    st = mariadb.throwaway_status()
    if as_json:
        print(json.dumps(st or {"running": False}))
    elif st:
        for k in ("url", "pid", "port", "datadir", "log", "started_at"):
            print(f"{k:11} {st.get(k)}")
    else:
        print("no throwaway MariaDB is running")
    if not st:
        raise typer.Exit(1)


@db.command()
def stop() -> None:
    """Stop the throwaway MariaDB (clean shutdown); nothing is left listening."""
    from local import mariadb

    print("stopped" if mariadb.stop_throwaway() else "not running")


@db.command()
def migrate(url: str = typer.Option(None, help="mysql://user@host:port/db (default: the running stack's)")) -> None:
    """Apply pending migrations (sori/migrations/*.sql)."""
    from sori.stores.mysql import migrate as _migrate
    from sori.stores.mysql import open_connection

    with open_connection(_database_url(url)) as conn:
        applied = _migrate(conn)
    print(f"applied {applied}" if applied else "up to date")


@db.command("seed-aliases")
def seed_aliases(url: str = typer.Option(None, help="mysql://user@host:port/db (default: the running stack's)"),
                 path: str = typer.Option(None,
                                          help="TSV of alias<TAB>artist_name (default: the curated one)")) -> None:
    """Load curated Hangul/Latin aliases for artists the catalog already has."""
    from sori.stores.mysql import ALIASES_TSV, open_connection
    from sori.stores.mysql import seed_aliases as _seed

    with open_connection(_database_url(url)) as conn:
        rep = _seed(conn, path or ALIASES_TSV)
    print(f"inserted {rep.inserted}, already present {rep.existing}, artists not in the catalog {len(rep.missing)}")
    if rep.missing:
        print("missing: " + ", ".join(rep.missing))


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")
