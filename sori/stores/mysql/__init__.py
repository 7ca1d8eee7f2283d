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

Split by concern (issue 13): ``connection`` (URLs, connections, transactions, SQL helpers), ``migrations``,
``artists`` (catalog + aliases), ``related`` (related-artist generations). Everything callers imported from the
old single module is re-exported here.
"""
from __future__ import annotations

# private helpers tests reach for by their old address (tests/unit/test_security_code.py, test_related_builder.py)
from sori.stores.mysql.artists import (
                                          ALIASES_TSV,
                                          ArtistStore,
                                          SeedReport,
                                          read_aliases,
                                          seed_aliases,
)
from sori.stores.mysql.artists import _artist_order as _artist_order
from sori.stores.mysql.connection import _CHUNK as _CHUNK
from sori.stores.mysql.connection import _chunks as _chunks
from sori.stores.mysql.connection import _placeholders as _placeholders
from sori.stores.mysql.connection import (
                                          close_cached,
                                          connect,
                                          connection_params,
                                          open_connection,
                                          parse_url,
                                          to_db_time,
                                          transaction,
                                          with_database,
)
from sori.stores.mysql.migrations import (
                                          MIGRATIONS_DIR,
                                          Migration,
                                          MigrationError,
                                          applied_versions,
                                          load_migrations,
                                          migrate,
)
from sori.stores.mysql.related import RelatedStore, StaleGenerationError

__all__ = [
    "ALIASES_TSV", "MIGRATIONS_DIR", "ArtistStore", "Migration", "MigrationError", "RelatedStore", "SeedReport",
    "StaleGenerationError", "applied_versions", "close_cached", "connect", "connection_params", "load_migrations",
    "migrate", "open_connection", "parse_url", "read_aliases", "seed_aliases", "to_db_time", "transaction",
    "with_database",
]
