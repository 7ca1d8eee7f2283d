"""sori.stores.mysql against a real MariaDB (SORI_MYSQL_URL or the throwaway server): migrations, artists,
aliases, the related-artists generation swap under killed connections, utf8mb4 round-trips."""
from __future__ import annotations

import datetime as dt
import secrets
import threading

import pymysql
import pytest

from local.mariadb import create_database, drop_database
from sori.settings import Settings
from sori.stores import mysql as m
from sori.stores.mysql import (
    ArtistStore,
    RelatedStore,
    StaleGenerationError,
    applied_versions,
    connect,
    load_migrations,
    migrate,
    open_connection,
    seed_aliases,
)

UTC = dt.UTC
KST = dt.timezone(dt.timedelta(hours=9))
T0 = dt.datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture()
def conn(mysql_url):
    c = open_connection(mysql_url)
    yield c
    c.close()


def fresh(url):
    """A second, independent connection (what another Lambda or the chatbot would see)."""
    return open_connection(url)


def kill(url, thread_id):
    with open_connection(url) as other, other.cursor() as cur:
        cur.execute("KILL CONNECTION %s", (thread_id,))


def artists(n=30):
    return [{"id": f"a{i:02d}", "name": f"Artist {i:02d}", "genres": ["k-pop"], "popularity": i} for i in range(n)]


def related_rows(n=30, k=10, tag="g"):
    rows = []
    for i in range(n):
        for r in range(1, k + 1):
            rows.append({"artist_id": f"a{i:02d}", "related_id": f"a{(i + r) % n:02d}", "rank": r,
                         "score": round(1.0 - r / 100, 4),
                         "reason": {"shared": ["Top 50 – Korea", "주간 차트"], "features": ["energy"], "tag": tag}})
    return rows


# --- migrations -------------------------------------------------------------------------------------------

def test_migrations_are_applied_once_and_idempotent(conn):
    assert applied_versions(conn) == [mg.version for mg in load_migrations()]
    assert migrate(conn) == []
    assert migrate(conn) == []
    with conn.cursor() as cur:
        cur.execute("SELECT table_name AS t, table_collation AS c FROM information_schema.tables"
                    " WHERE table_schema = DATABASE()")
        tables = {r["t"]: r["c"] for r in cur.fetchall()}
    conn.commit()
    for t in ("artists", "artist_aliases", "related_artists", "related_generation", "related_builds",
              "schema_migrations"):
        assert tables[t].startswith("utf8mb4"), (t, tables[t])


def test_concurrent_migrations_apply_each_version_once(mysql_server_url):
    url = create_database(mysql_server_url, f"sori_test_mig_{secrets.token_hex(4)}", run_migrations=False)
    try:
        results, errors = [], []

        def run():
            try:
                with open_connection(url) as c:
                    results.append(migrate(c))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        applied = sorted(v for r in results for v in r)
        assert applied == [mg.version for mg in load_migrations()]  # each version by exactly one caller
        with open_connection(url) as c:
            assert applied_versions(c) == applied
    finally:
        drop_database(url)


def test_new_migration_applies_incrementally(conn, tmp_path):
    for mg in load_migrations():
        (tmp_path / f"{mg.version:03d}_{mg.name}.sql").write_text(mg.sql, encoding="utf-8")
    (tmp_path / "900_extra.sql").write_text(
        "-- a later migration\nCREATE TABLE IF NOT EXISTS extra_t (id INT PRIMARY KEY);\n"
        "INSERT IGNORE INTO extra_t (id) VALUES (1); -- trailing comment\nINSERT IGNORE INTO extra_t (id) VALUES (2)\n",
        encoding="utf-8")
    assert migrate(conn, tmp_path) == [900]
    assert migrate(conn, tmp_path) == []
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM extra_t")
        assert cur.fetchone()["n"] == 2
    conn.rollback()


def test_migration_statement_split():
    mg = m.Migration(1, "x", "-- c1\nCREATE TABLE a (x INT); -- note\n\nINSERT INTO a VALUES (1);\n-- end\n")
    assert mg.statements() == ["CREATE TABLE a (x INT)", "INSERT INTO a VALUES (1)"]


def test_bad_migration_names_are_rejected(tmp_path):
    (tmp_path / "init.sql").write_text("SELECT 1")
    with pytest.raises(m.MigrationError):
        load_migrations(tmp_path)


# --- artists ----------------------------------------------------------------------------------------------

def test_upsert_insert_update_and_keep_unknown_fields(conn):
    s = ArtistStore(conn)
    assert s.upsert_artists([
        {"id": "x1", "name": "Red Velvet", "genres": ["k-pop", "girl group"], "popularity": 70, "followers": 10,
         "image_url": "http://img/1", "source": "chart"},
        {"artist_id": "x2", "name": "ＢＴＳ", "refreshed_at": "2026-11-01T00:00:00Z"},  # a record's data shape
    ]) == 2
    a = s.get("x1")
    assert a["name_norm"] == "redvelvet" and a["genres"] == ["k-pop", "girl group"] and a["source"] == "chart"
    assert s.get("x2")["name_norm"] == "bts"
    assert s.get("x2")["refreshed_at"] == dt.datetime(2026, 11, 1, tzinfo=UTC)
    created = a["created_at"]
    # a development-mode refresh: no genres/popularity/followers/image -> the stored ones stay
    s.upsert_artists([{"id": "x1", "name": "Red Velvet (레드벨벳)", "source": "catalog"}])
    b = s.get("x1")
    assert b["name"] == "Red Velvet (레드벨벳)" and b["name_norm"] == "redvelvet레드벨벳"
    assert (b["genres"], b["popularity"], b["followers"], b["image_url"]) == (["k-pop", "girl group"], 70, 10,
                                                                                "http://img/1")
    assert b["source"] == "chart" and b["created_at"] == created  # first values kept
    s.upsert_artists([{"id": "x1", "name": "Red Velvet", "genres": []}])  # an explicit empty list does replace
    assert s.get("x1")["genres"] == []
    assert s.get("nope") is None
    assert list(s.get_many(["x2", "nope", "x1", "x2"])) == ["x2", "x1"]
    assert [a["id"] for a in s.all_artists()] == ["x1", "x2"]


@pytest.mark.parametrize("bad", [{"name": "no id"}, {"id": "y"}, {"id": "y", "name": "Y", "genres": "k-pop"}])
def test_upsert_rejects_bad_rows_and_writes_nothing(conn, bad):
    s = ArtistStore(conn)
    with pytest.raises(ValueError):
        s.upsert_artists([{"id": "ok", "name": "OK"}, bad])
    assert s.all_artists() == []


def test_stale_artists_and_mark_refreshed(conn):
    s = ArtistStore(conn)
    s.upsert_artists([
        {"id": "old", "name": "Old", "refreshed_at": T0 - dt.timedelta(days=3)},
        {"id": "older", "name": "Older", "refreshed_at": T0 - dt.timedelta(days=9)},
        {"id": "fresh", "name": "Fresh", "refreshed_at": T0 + dt.timedelta(hours=1)},
        {"id": "never", "name": "Never"},
    ])
    assert [a["id"] for a in s.stale_artists(T0)] == ["never", "older", "old"]
    assert [a["id"] for a in s.stale_artists(T0, limit=2)] == ["never", "older"]
    # aware datetimes in any zone mean the same instant: 03:00 KST on the 21st == 18:00 UTC on the 20th
    assert [a["id"] for a in s.stale_artists(dt.datetime(2026, 11, 21, 3, 0, tzinfo=KST))] == ["never", "older", "old"]
    assert s.mark_refreshed(["never", "older", "ghost"], T0 + dt.timedelta(hours=2)) == 2
    assert [a["id"] for a in s.stale_artists(T0 + dt.timedelta(minutes=90))] == ["old", "fresh"]
    assert s.get("never")["refreshed_at"] == T0 + dt.timedelta(hours=2)


def test_find_by_name_norm_best_first(conn):
    s = ArtistStore(conn)
    s.upsert_artists([
        {"id": "d1", "name": "DEAN", "popularity": 40},
        {"id": "d2", "name": "Dean", "popularity": 75},
        {"id": "d3", "name": "D.E.A.N"},
        {"id": "o", "name": "Deano"},
    ])
    assert [a["id"] for a in s.find_by_name_norm("dean")] == ["d2", "d1", "d3"]
    assert [a["id"] for a in s.find_by_name_norm(" Ｄｅａｎ ")] == ["d2", "d1", "d3"]  # normalised on the way in
    assert s.find_by_name_norm("nobody") == []
    assert sorted(s.name_index()) == [("d1", "DEAN", "dean"), ("d2", "Dean", "dean"), ("d3", "D.E.A.N", "dean"),
                                      ("o", "Deano", "deano")]


def test_aliases(conn):
    s = ArtistStore(conn)
    s.upsert_artists([{"id": "bts", "name": "BTS"}])
    assert s.add_alias("방탄소년단", "bts") is True
    assert s.add_alias("방탄 소년단!", "bts") is False  # same normalised alias: idempotent
    assert s.add_alias("bangtan", "bts", source="chatbot") is True
    assert [a["id"] for a in s.find_by_alias("방탄소년단")] == ["bts"]
    assert [a["id"] for a in s.find_by_alias("Bangtan")] == ["bts"]
    assert s.find_by_alias("블랙핑크") == []
    assert s.aliases("bts") == [("bangtan", "bts", "chatbot"), ("방탄소년단", "bts", "curated")]
    with pytest.raises(pymysql.IntegrityError):
        s.add_alias("블핑", "no-such-artist")
    with pytest.raises(ValueError):
        s.add_alias("!!", "bts")


def test_seed_aliases_resolves_by_normalised_name(conn, tmp_path):
    s = ArtistStore(conn)
    s.upsert_artists([{"id": "bp", "name": "BLACKPINK"}, {"id": "gi", "name": "(G)I-DLE"},
                      {"id": "tw", "name": "TWICE"}])
    tsv = tmp_path / "aliases.tsv"
    tsv.write_text("# alias\tartist\n블랙핑크\tBLACKPINK\n블핑\tblackpink\n(여자)아이들\t(G)I-DLE\n"
                   "여자아이들\t(G)I-DLE\n\n샤이니\tSHINee\n", encoding="utf-8")
    rep = seed_aliases(conn, tsv)
    assert (rep.inserted, rep.existing, rep.missing) == (3, 1, ["SHINee"])  # (여자)아이들 == 여자아이들
    assert [a["id"] for a in s.find_by_alias("블핑")] == ["bp"]
    assert [a["id"] for a in s.find_by_alias("여자 아이들")] == ["gi"]
    assert seed_aliases(conn, tsv).inserted == 0


def test_shipped_aliases_file_parses_and_seeds(conn):
    pairs = m.read_aliases()
    assert len(pairs) >= 60
    names = sorted({n for _, n in pairs})
    ArtistStore(conn).upsert_artists([{"id": f"id{i}", "name": n} for i, n in enumerate(names)])
    rep = seed_aliases(conn)
    assert rep.missing == []
    assert rep.inserted + rep.existing == len(pairs)
    s = ArtistStore(conn)
    for alias, name in [("방탄", "BTS"), ("블핑", "BLACKPINK"), ("스키즈", "Stray Kids"), ("위켄드", "The Weeknd"),
                        ("(여자)아이들", "(G)I-DLE"), ("에드 시런", "Ed Sheeran"), ("마룬 5", "Maroon 5")]:
        assert [a["name"] for a in s.find_by_alias(alias)] == [name]


def test_utf8mb4_round_trip(conn, mysql_url):
    name = "방탄소년단 🐯💜 Beyoncé ヨルシカ 周杰倫 𝄞"
    ArtistStore(conn).upsert_artists([
        {"id": "u1", "name": name, "genres": ["케이팝", "🎤 pop"]}, {"id": "u2", "name": "Other"}])
    RelatedStore(conn).write_generation(
        [{"artist_id": "u1", "related_id": "u2", "rank": 1, "score": 0.5, "reason": {"shared": ["멜론 🍈 차트"]}},
         {"artist_id": "u2", "related_id": "u1", "rank": 1, "score": 0.5, "reason": None}], T0)
    with fresh(mysql_url) as c2:
        a = ArtistStore(c2).get("u1")
        assert a["name"] == name and a["genres"] == ["케이팝", "🎤 pop"]
        assert a["name_norm"] == "방탄소년단beyoncéヨルシカ周杰倫"
        (rel,) = RelatedStore(c2).current("u2")
        assert rel["name"] == name and rel["genres"] == ["케이팝", "🎤 pop"] and rel["reason"] is None
        assert RelatedStore(c2).current("u1")[0]["reason"] == {"shared": ["멜론 🍈 차트"]}


# --- related artists: the generation swap ------------------------------------------------------------------

def test_write_generation_and_current(conn):
    ArtistStore(conn).upsert_artists(artists())
    r = RelatedStore(conn)
    assert r.current_generation() is None and r.current("a00") == []
    g1 = r.write_generation(related_rows(), T0)
    assert r.current_generation() == g1
    top = r.current("a00", limit=3)
    assert [x["related_id"] for x in top] == ["a01", "a02", "a03"]
    assert [x["rank"] for x in top] == [1, 2, 3]
    assert top[0]["name"] == "Artist 01" and top[0]["genres"] == ["k-pop"] and top[0]["generation"] == g1
    assert top[0]["reason"]["shared"] == ["Top 50 – Korea", "주간 차트"]
    assert top[0]["built_at"] == T0
    assert len(r.current("a00")) == 10
    g2 = r.write_generation(related_rows(k=5, tag="second"), T0 + dt.timedelta(days=1))
    assert g2 > g1 and r.current_generation() == g2
    assert [x["reason"]["tag"] for x in r.current("a05")] == ["second"] * 5
    g3 = r.write_generation(related_rows(k=3, tag="third"), T0 + dt.timedelta(days=2))
    # the previous generation is kept (a reader between pointer read and row read still finds it); older go
    assert set(r.generation_counts()) == {g2, g3}


def test_related_of_unknown_artists_have_no_name(conn):
    r = RelatedStore(conn)
    r.write_generation([{"artist_id": "p", "related_id": "q", "rank": 1, "score": 1.0}], T0)
    (x,) = r.current("p")
    assert x["related_id"] == "q" and x["name"] is None and x["reason"] is None


@pytest.mark.parametrize("bad", [
    [],
    [{"artist_id": "a", "related_id": "a", "rank": 1, "score": 1.0}],
    [{"artist_id": "a", "related_id": "b", "rank": 0, "score": 1.0}],
    [{"artist_id": "a", "related_id": "b", "rank": 1, "score": float("nan")}],
    [{"artist_id": "a", "related_id": "b", "rank": 1, "score": 1.0, "reason": ["not", "a", "dict"]}],
    [{"artist_id": "a", "related_id": "b", "rank": 1, "score": 1.0},
     {"artist_id": "a", "related_id": "c", "rank": 1, "score": 0.9}],
    [{"artist_id": "a", "related_id": "b", "rank": 1, "score": 1.0},
     {"artist_id": "a", "related_id": "b", "rank": 2, "score": 0.9}],
])
def test_invalid_generations_are_refused_before_writing(conn, bad):
    r = RelatedStore(conn)
    g1 = r.write_generation(related_rows(n=3, k=2), T0)
    with pytest.raises(ValueError):
        r.write_generation(bad, T0)
    assert r.current_generation() == g1 and r.generation_counts() == {g1: 6}


def test_a_generation_never_goes_backwards(conn, mysql_url):
    r = RelatedStore(conn)
    r.write_generation(related_rows(n=3, k=2), T0)
    # another builder allocates a newer generation and publishes while ours is still writing
    with fresh(mysql_url) as c2:
        orig = RelatedStore._flip
        calls = []

        def flip_after_newer(self, generation, built, row_count):
            if self.conn is conn and not calls:
                calls.append(RelatedStore(c2).write_generation(related_rows(n=3, k=1, tag="newer"), T0))
            return orig(self, generation, built, row_count)

        RelatedStore._flip = flip_after_newer
        try:
            with pytest.raises(StaleGenerationError):
                r.write_generation(related_rows(n=3, k=2, tag="older"), T0)
        finally:
            RelatedStore._flip = orig
    assert r.current_generation() == calls[0]
    assert [x["reason"]["tag"] for x in r.current("a00")] == ["newer"]


def _commit_killer(conn, at: int, how, url):
    """Make ``conn``'s ``at``-th commit die: the connection is killed (or closed) just before COMMIT is sent."""
    orig = conn.commit
    seen = {"n": 0}

    def commit():
        seen["n"] += 1
        if seen["n"] == at:
            if how == "kill":
                kill(url, conn.thread_id())
            else:
                conn.close()
        return orig()

    conn.commit = commit
    return seen


# write_generation's commits with 300 rows in chunks of 100: 1 allocate, 2-4 row chunks, 5 flip, 6+ prune.
@pytest.mark.parametrize("how", ["kill", "close"])
@pytest.mark.parametrize("at, flipped", [(1, False), (2, False), (3, False), (4, False), (5, False), (6, True)])
def test_crash_anywhere_before_the_flip_keeps_the_previous_generation(mysql_url, how, at, flipped):
    with fresh(mysql_url) as setup:
        ArtistStore(setup).upsert_artists(artists())
        g1 = RelatedStore(setup).write_generation(related_rows(tag="old"), T0)
    builder = fresh(mysql_url)
    _commit_killer(builder, at, how, mysql_url)
    with pytest.raises(pymysql.Error):
        RelatedStore(builder, chunk_size=100).write_generation(related_rows(tag="new"), T0 + dt.timedelta(days=1))
    with fresh(mysql_url) as reader:
        r = RelatedStore(reader)
        expect_tag = "new" if flipped else "old"
        assert (r.current_generation() == g1) is not flipped
        for i in range(30):  # every artist still has its full, untorn list from one generation
            cur = r.current(f"a{i:02d}")
            assert len(cur) == 10
            assert {x["reason"]["tag"] for x in cur} == {expect_tag}
            assert len({x["generation"] for x in cur}) == 1
    # the next build succeeds and sweeps the dead build's orphan rows
    with fresh(mysql_url) as again:
        r = RelatedStore(again)
        g3 = r.write_generation(related_rows(k=4, tag="next"), T0 + dt.timedelta(days=2))
        counts = r.generation_counts()
        assert counts[g3] == 120 and len(counts) == 2


def test_builder_exception_midway_keeps_previous(conn, mysql_url):
    ArtistStore(conn).upsert_artists(artists())
    r = RelatedStore(conn)
    g1 = r.write_generation(related_rows(tag="old"), T0)

    def rows():
        yield from related_rows(tag="new")[:150]
        raise RuntimeError("builder died")

    with pytest.raises(RuntimeError):
        r.write_generation(rows(), T0)
    with fresh(mysql_url) as c2:
        assert RelatedStore(c2).current_generation() == g1
        assert {x["reason"]["tag"] for x in RelatedStore(c2).current("a07")} == {"old"}


def test_readers_never_see_a_torn_generation(conn, mysql_url):
    ArtistStore(conn).upsert_artists(artists())
    RelatedStore(conn).write_generation(related_rows(tag="0"), T0)
    stop, reading = threading.Event(), threading.Event()
    seen, problems = set(), []

    def reader():
        with fresh(mysql_url) as c:
            r = RelatedStore(c)
            while not stop.is_set():
                rows = r.current("a03")
                tags = {x["reason"]["tag"] for x in rows}
                gens = {x["generation"] for x in rows}
                if len(rows) != 10 or len(tags) != 1 or len(gens) != 1:
                    problems.append(rows)
                seen.update(tags)
                reading.set()

    t = threading.Thread(target=reader)
    t.start()
    assert reading.wait(30), "the reader never read"  # it reads while the writer builds, not after
    try:
        for i in range(1, 6):
            RelatedStore(conn, chunk_size=50).write_generation(related_rows(tag=str(i)), T0)
    finally:
        stop.set()
        t.join()
    assert problems == []
    assert "0" in seen and seen <= {"0", "1", "2", "3", "4", "5"}


# --- connections ------------------------------------------------------------------------------------------

def test_connect_caches_and_reconnects_after_a_drop(mysql_url):
    settings = Settings(mysql_url=mysql_url)
    try:
        c1 = connect(settings)
        assert connect(settings) is c1
        ArtistStore(c1).upsert_artists([{"id": "k1", "name": "Kept"}])
        kill(mysql_url, c1.thread_id())
        c2 = connect(settings)  # a warm Lambda after RDS dropped the connection
        assert ArtistStore(c2).get("k1")["name"] == "Kept"
        with c2.cursor() as cur:
            cur.execute("SELECT @@autocommit AS ac, @@time_zone AS tz, @@character_set_client AS cs")
            assert cur.fetchone() == {"ac": 0, "tz": "+00:00", "cs": "utf8mb4"}
        c2.rollback()
    finally:
        m.close_cached()


def test_cached_connection_sees_other_writers(mysql_url):
    """Store reads end their transaction, so a long-lived connection never reads an old snapshot."""
    settings = Settings(mysql_url=mysql_url)
    try:
        reader = RelatedStore(connect(settings))
        assert reader.current_generation() is None
        with fresh(mysql_url) as w:
            g1 = RelatedStore(w).write_generation(related_rows(n=3, k=1, tag="x"), T0)
            assert reader.current_generation() == g1
            g2 = RelatedStore(w).write_generation(related_rows(n=3, k=2, tag="y"), T0)
        assert reader.current_generation() == g2 and len(reader.current("a01")) == 2
        cached = ArtistStore(connect(settings))
        assert cached.get("late") is None
        with fresh(mysql_url) as w:
            ArtistStore(w).upsert_artists([{"id": "late", "name": "Late"}])
        assert cached.get("late") is not None
    finally:
        m.close_cached()


def test_connection_params_need_a_url_or_a_secret():
    s = Settings(mysql_host="db.example", mysql_port=3307, mysql_database="sori")
    with pytest.raises(KeyError):  # no secret configured: fail loudly
        m.connection_params(s)
    with pytest.raises(KeyError):
        m.connection_params(Settings())


def test_parse_url_round_trip():
    kw = m.parse_url("mysql://us%40r:p%3Ass@10.0.0.5:3307/sori?unix_socket=/tmp/x.sock")
    assert kw == {"host": "10.0.0.5", "port": 3307, "user": "us@r", "password": "p:ss", "database": "sori",
                  "unix_socket": "/tmp/x.sock"}
    assert m.with_database("mysql://root@127.0.0.1:3306/a", "b") == "mysql://root@127.0.0.1:3306/b"
    with pytest.raises(ValueError):
        m.parse_url("postgres://x/y")
