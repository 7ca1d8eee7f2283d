"""The related builder's lake SQL on DuckDB (the local Athena), the query port, and the SQL's portability."""
from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from sori import query
from sori.lake import arrow_schema
from sori.records import lake_row, make_record, validate

FEATS = {"danceability": 0.5, "energy": 0.6, "loudness": -6.0, "speechiness": 0.05, "acousticness": 0.1,
         "instrumentalness": 0.0, "liveness": 0.1, "valence": 0.4, "tempo": 120.0, "key": 1, "mode": 1,
         "duration_ms": 200000}


def _rows(type_, items):
    out: dict[str, Any] = {}
    for data, emitted in items:
        rec = validate(make_record(type_, data, source="test", emitted_at=emitted))
        row = lake_row(rec)
        row["dt"] = rec.dt
        out.setdefault(rec.spec.table, []).append(row)
    return out


def _con(**tables) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table, rows in tables.items():
        schema = arrow_schema(table).append(pa.field("dt", pa.string()))
        con.register(table, pa.Table.from_pylist(rows, schema=schema))
    return con


@pytest.fixture()
def lake():
    tt = _rows("top_track", [
        ({"artist_id": "a1", "track_id": "t_old", "name": "old", "rank": 1}, "2026-11-01T00:00:00Z"),
        ({"artist_id": "a1", "track_id": "t1", "name": "one", "rank": 1}, "2026-11-20T00:00:00Z"),
        ({"artist_id": "a1", "track_id": "t2", "name": "two", "rank": 2}, "2026-11-20T00:00:00Z"),
        ({"artist_id": "a2", "track_id": "t3", "name": "three", "rank": 1}, "2026-11-10T00:00:00Z"),
        ({"artist_id": "a3", "track_id": "t9", "name": "too old", "rank": 1}, "2026-01-01T00:00:00Z"),
    ])["top_tracks"]
    af = _rows("audio_features", [
        ({"track_id": "t1", **FEATS, "energy": 0.1}, "2026-11-02T00:00:00Z"),
        ({"track_id": "t1", **FEATS, "energy": 0.9}, "2026-11-21T00:00:00Z"),  # newest wins
        ({"track_id": "t2", **FEATS}, "2026-11-21T00:00:00Z"),
        ({"track_id": "t3", **FEATS}, "2026-11-11T00:00:00Z"),
        ({"track_id": "t_old", **FEATS}, "2026-11-01T00:00:00Z"),
        ({"track_id": "t4", "artist_id": "a2", **FEATS}, "2026-11-12T00:00:00Z"),  # tied by the producer
        ({"track_id": "t9", **FEATS}, "2026-01-01T00:00:00Z"),
    ])["audio_features"]
    cm = _rows("collection_member", [
        ({"kind": "playlist", "collection_id": "p1", "artist_id": "a1", "track_id": "t1",
          "collection_name": "Chill"}, "2026-11-20T00:00:00Z"),
        ({"kind": "playlist", "collection_id": "p1", "artist_id": "a1", "track_id": "t2",
          "collection_name": "Chill"}, "2026-11-21T00:00:00Z"),
        ({"kind": "playlist", "collection_id": "p1", "artist_id": "a2", "track_id": "t3",
          "collection_name": "Chill"}, "2026-11-20T00:00:00Z"),
        ({"kind": "chart", "collection_id": "kr:2026-01-01", "artist_id": "a2", "track_id": "t3"},
         "2026-01-02T00:00:00Z"),
    ])["collection_members"]
    return query.DuckEngine(_con(top_tracks=tt, audio_features=af, collection_members=cm))


def test_track_features_latest_snapshot_latest_features_and_window(lake):
    df = query.run_query(lake, "related_track_features", since="2026-10-01", until="2026-11-22")
    got = {(r.artist_id, r.track_id): r for r in df.itertuples()}
    # a1: only its newest top-track snapshot (t1, t2), not t_old; a3 is outside the window
    assert set(got) == {("a1", "t1"), ("a1", "t2"), ("a2", "t3"), ("a2", "t4")}
    assert got[("a1", "t1")].energy == pytest.approx(0.9)
    assert got[("a1", "t1")].track_rank == 1 and got[("a1", "t2")].track_rank == 2
    assert pd.isna(got[("a2", "t4")].track_rank)  # linked by audio_features.artist_id only
    assert set(df.columns) >= {"artist_id", "track_id", "track_rank", "duration_ms", "tempo", "valence"}


def test_window_bounds_are_inclusive_and_exclude_the_rest(lake):
    df = query.run_query(lake, "related_track_features", since="2026-11-10", until="2026-11-11")
    assert set(zip(df.artist_id, df.track_id, strict=False)) == {("a2", "t3")}


def test_collections_grouped_per_artist_within_window(lake):
    df = query.run_query(lake, "related_collections", since="2026-11-01", until="2026-11-22")
    assert df[["kind", "collection_id", "artist_id", "tracks"]].values.tolist() == [
        ["playlist", "p1", "a1", 2], ["playlist", "p1", "a2", 1]]
    assert set(df.collection_name) == {"Chill"}
    wide = query.run_query(lake, "related_collections", since="2026-01-01", until="2026-11-22")
    assert "chart" in set(wide.kind)


def test_run_query_requires_declared_params(lake):
    with pytest.raises(TypeError, match="since"):
        query.run_query(lake, "related_collections", until="2026-11-22")
    with pytest.raises(KeyError):
        query.load_sql("no_such_query")


def test_artist_genres_newest_record_only():
    rows = _rows("artist", [
        ({"artist_id": "a1", "name": "One", "genres": ["k-pop", "pop"]}, "2026-11-01T00:00:00Z"),
        ({"artist_id": "a1", "name": "One", "genres": ["k-pop", "dance pop"]}, "2026-11-20T00:00:00Z"),
        ({"artist_id": "a2", "name": "Two", "genres": []}, "2026-11-20T00:00:00Z"),
        ({"artist_id": "a3", "name": "Old", "genres": ["rock"]}, "2026-01-01T00:00:00Z"),
    ])["artists"]
    df = query.run_query(query.DuckEngine(_con(artists=rows)), "related_artist_genres", since="2026-10-01",
                         until="2026-11-22")
    assert list(map(tuple, df[["artist_id", "genre"]].to_numpy())) == [("a1", "dance pop"), ("a1", "k-pop")]


@pytest.mark.parametrize("name", ["related_track_features", "related_collections", "related_artist_genres"])
def test_sql_declares_every_placeholder_and_filters_dt(name):
    sql = query.load_sql(name)
    names = query.param_names(sql)
    assert set(names) == {"since", "until"}
    assert "dt >= ?" in sql and "dt <= ?" in sql


@pytest.mark.parametrize("name", ["related_track_features", "related_collections", "related_artist_genres"])
def test_sql_parses_as_trino(name):
    sqlglot = pytest.importorskip("sqlglot", reason="sqlglot (dev dependency) not installed")
    sqlglot.parse_one(query.load_sql(name).replace("?", "'2026-11-22'"), read="trino")


def test_window_and_athena_literals():
    import datetime as dt

    assert query.window(90, dt.date(2026, 11, 22)) == {"since": "2026-08-25", "until": "2026-11-22"}
    assert query.athena_literal("o'clock") == "'o''clock'"
    assert query.athena_literal(dt.date(2026, 1, 2)) == "'2026-01-02'"
    with pytest.raises(TypeError):
        query.athena_literal(object())


def test_athena_engine_passes_server_side_params(monkeypatch):
    import awswrangler as wr

    from sori.settings import Settings

    seen: dict[Any, Any] = {}

    def fake(sql, **kw):
        seen.update(kw, sql=sql)
        return pd.DataFrame({"x": [1]})

    monkeypatch.setattr(wr.athena, "read_sql_query", fake)
    eng = query.engine_for(Settings(glue_database="lakedb", athena_workgroup="wg", query_engine="athena"))
    out = query.run_query(eng, "related_collections", since="2026-08-25", until="2026-11-22")
    assert out.x.tolist() == [1]
    assert seen["params"] == ["'2026-08-25'", "'2026-11-22'"] and seen["paramstyle"] == "qmark"
    assert seen["database"] == "lakedb" and seen["workgroup"] == "wg"
    assert seen["sql"] == query.load_sql("related_collections")


def test_unknown_engine_is_refused():
    from sori.settings import Settings

    with pytest.raises(ValueError):
        query.engine_for(Settings(query_engine="presto"))  # type: ignore[arg-type]  # invalid on purpose
