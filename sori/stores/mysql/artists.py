"""The artist catalog and its name aliases (``artists``, ``artist_aliases``)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sori.stores.mysql.connection import (
    _chunks,
    _from_db_time,
    _json_load,
    _placeholders,
    _utcnow,
    log,
    to_db_time,
    transaction,
)
from sori.text import normalize

if TYPE_CHECKING:  # pragma: no cover
    import pymysql

ALIASES_TSV = Path(__file__).resolve().parent.parent.parent / "data" / "aliases.tsv"


# --- artists ----------------------------------------------------------------------------------------------

_ARTIST_COLS = "id, name, name_norm, image_url, genres, popularity, followers, source, created_at, refreshed_at"


def _artist_order(t: str = "") -> str:
    """Best match first when several artists share a name: popularity, then followers (unknowns last)."""
    return (f"ORDER BY ({t}popularity IS NULL), {t}popularity DESC, ({t}followers IS NULL), {t}followers DESC,"
            f" {t}id")


def _artist_out(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["genres"] = _json_load(out.get("genres"))
    for k in ("created_at", "refreshed_at"):
        if k in out:
            out[k] = _from_db_time(out[k])
    return out


def _artist_in(row: Mapping[str, Any], default_source: str, now: dt.datetime) -> tuple[Any, ...]:
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

    def __init__(self, conn: pymysql.Connection):
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

    def get(self, artist_id: str) -> dict[str, Any] | None:
        """One artist, or ``None``."""
        return self.get_many([artist_id]).get(artist_id)

    def get_many(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Artists by id, as ``{id: artist}`` in the order asked (unknown ids are absent)."""
        ids = list(dict.fromkeys(ids))
        found: dict[str, dict[str, Any]] = {}
        with transaction(self.conn) as cur:
            for chunk in _chunks(ids):
                cur.execute(f"SELECT {_ARTIST_COLS} FROM artists WHERE id IN ({_placeholders(len(chunk))})",
                            tuple(chunk))
                found.update((r["id"], _artist_out(r)) for r in cur.fetchall())
        return {i: found[i] for i in ids if i in found}

    def all_artists(self) -> list[dict[str, Any]]:
        """Every artist, by id."""
        return self._artists(f"SELECT {_ARTIST_COLS} FROM artists ORDER BY id")

    def stale_artists(self, older_than: dt.datetime, limit: int | None = None) -> list[dict[str, Any]]:
        """Artists never refreshed or last refreshed before ``older_than``, stalest first (never-refreshed first)."""
        sql = (f"SELECT {_ARTIST_COLS} FROM artists WHERE refreshed_at IS NULL OR refreshed_at < %s"
               " ORDER BY (refreshed_at IS NOT NULL), refreshed_at, id")
        args: tuple[Any, ...] = (to_db_time(older_than),)
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

    def find_by_name_norm(self, norm: str) -> list[dict[str, Any]]:
        """Artists whose normalised name equals ``normalize(norm)``, best first (popularity, then followers)."""
        return self._artists(f"SELECT {_ARTIST_COLS} FROM artists WHERE name_norm = %s {_artist_order()}",
                             (normalize(norm),))

    def find_by_alias(self, norm: str) -> list[dict[str, Any]]:
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
            n: int = cur.execute("INSERT IGNORE INTO artist_aliases (alias_norm, artist_id, source, created_at)"
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
        args: tuple[Any, ...] = ()
        if artist_id is not None:
            sql += " WHERE artist_id = %s"
            args = (artist_id,)
        return [(r["alias_norm"], r["artist_id"], r["source"]) for r in self._select(sql + " ORDER BY 1, 2", args)]

    def name_index(self) -> list[tuple[str, str, str]]:
        """``(artist_id, name, name_norm)`` for every artist: what the chatbot's fuzzy matcher loads once."""
        return [(r["id"], r["name"], r["name_norm"])
                for r in self._select("SELECT id, name, name_norm FROM artists ORDER BY id")]

    def _select(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with transaction(self.conn) as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _artists(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
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


def seed_aliases(conn: pymysql.Connection, path: Path | str = ALIASES_TSV, *, source: str = "curated") -> SeedReport:
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
