"""related_builder end to end on the local stack pieces: parquet lake in moto S3 → DuckDB → ranking → MariaDB.

Also the crash test: the build's MySQL connection is killed mid-insert, and a fresh reader still gets the
previous generation in full.
"""
from __future__ import annotations

import datetime as dt
import itertools

import boto3
import pyarrow as pa
import pytest

from sori.lake import LakeStorage, arrow_schema, object_name, to_parquet
from sori.records import lake_row, make_record, validate
from sori.settings import Settings

TODAY = dt.date(2026, 11, 22)
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def frames():
    """A slice of the emulator catalog: artists of 12 playlists (a few hundred artists)."""
    from local.commands.related import catalog_frames

    tracks, members, _ = catalog_frames()
    keep_pl = sorted(members.collection_id.unique())[:12]
    members = members[members.collection_id.isin(keep_pl)]
    tracks = tracks[tracks.artist_id.isin(set(members.artist_id))]
    return tracks, members


def _put(storage: LakeStorage, type_: str, datas: list[dict], day: dt.date) -> None:
    rows = [lake_row(validate(make_record(type_, d, source="test", emitted_at=f"{day}T19:00:00Z")))
            for d in datas]
    table = validate(make_record(type_, datas[0], source="t", emitted_at=f"{day}T00:00:00Z")).spec.table
    n = next(_seq)
    storage.put(storage.key(table, day.isoformat(), object_name("shardId-000000000000", str(n), str(n))),
                to_parquet(pa.Table.from_pylist(rows, schema=arrow_schema(table))))


def write_lake(storage: LakeStorage, tracks, members, day: dt.date = TODAY) -> None:
    feats = ("danceability", "energy", "loudness", "speechiness", "acousticness", "instrumentalness",
             "liveness", "valence", "tempo", "key", "mode", "duration_ms")
    _put(storage, "top_track", [{"artist_id": r.artist_id, "track_id": r.track_id, "name": r.track_id,
                                 "rank": int(r.track_rank)} for r in tracks.itertuples()], day)
    _put(storage, "audio_features", [{"track_id": r.track_id, **{f: (int(getattr(r, f)) if f in ("key", "mode",
                                      "duration_ms") else float(getattr(r, f))) for f in feats}}
                                     for r in tracks.drop_duplicates("track_id").itertuples()], day)
    _put(storage, "collection_member", [{"kind": r.kind, "collection_id": r.collection_id,
                                         "artist_id": r.artist_id, "collection_name": r.collection_name}
                                        for r in members.itertuples()], day)


@pytest.fixture()
def stack(aws, mysql_url, monkeypatch, frames):
    monkeypatch.setenv("SORI_MYSQL_URL", mysql_url)
    settings = Settings(bucket="sori-lake-test", lake_prefix="lake", query_engine="duckdb", mysql_url=mysql_url,
                        region="ap-northeast-2", related_k=5, related_window_days=30)
    boto3.client("s3", region_name=settings.region).create_bucket(
        Bucket=settings.bucket, CreateBucketConfiguration={"LocationConstraint": settings.region})
    storage = LakeStorage.from_settings(settings)
    write_lake(storage, *frames)
    from sori.stores.mysql import ArtistStore, open_connection

    conn = open_connection(mysql_url)
    names = frames[0].drop_duplicates("artist_id")
    ArtistStore(conn).upsert_artists([{"id": a, "name": f"Artist {a[:6]}"} for a in names.artist_id])
    conn.close()
    return settings, storage, frames


def _fresh_reader(url):
    from sori.stores.mysql import RelatedStore, open_connection

    return RelatedStore(open_connection(url))


def test_build_publishes_a_generation_from_the_lake(stack):
    from consumers.related_builder.build import build

    settings, _storage, (tracks, members) = stack
    summary = build(settings, until=TODAY)
    n_artists = tracks.artist_id.nunique()
    assert summary["artists"] == n_artists and summary["profiled"] == n_artists
    assert summary["pairs"] == n_artists * 5
    assert summary["modes"]["blend"] > 0.9 * n_artists
    assert set(summary["missing_sources"]) == {"playlist", "collab", "chart", "session", "genre"}  # 12 playlists only
    assert set(summary["weights"]) >= {"playlist", "audio", "genre", "prior"}
    assert summary["collections"]["playlist"] == 12 and "listener_judgments" in summary
    reader = _fresh_reader(settings.mysql_url)
    assert reader.current_generation() == summary["generation"]
    some = members.artist_id.iloc[0]
    rel = reader.current(some, limit=10)
    assert [r["rank"] for r in rel] == [1, 2, 3, 4, 5]
    assert all(r["name"] and r["name"].startswith("Artist ") for r in rel)
    assert all(r["reason"]["v"] == 2 and r["reason"]["mode"] == "blend" for r in rel)
    assert any(r["reason"].get("playlists") for r in rel)
    assert all(r["reason"].get("features") for r in rel)


def test_partitions_outside_the_window_are_not_read(stack):
    from consumers.related_builder.build import build

    settings, storage, (tracks, members) = stack
    # an old partition naming an artist nobody else knows: outside a 30-day window, so never seen
    _put(storage, "collection_member", [{"kind": "playlist", "collection_id": "old", "artist_id": "ghost",
                                         "collection_name": "Old"},
                                        {"kind": "playlist", "collection_id": "old",
                                         "artist_id": members.artist_id.iloc[0], "collection_name": "Old"}],
         TODAY - dt.timedelta(days=45))
    summary = build(settings, until=TODAY)
    assert summary["artists"] == tracks.artist_id.nunique()  # no "ghost"


def test_killed_mid_swap_the_previous_generation_is_served_in_full(stack, monkeypatch):
    """Drop the builder's MySQL connection while it inserts the new generation: readers keep the old one."""
    import pymysql

    import sori.stores.mysql as mysql
    from consumers.related_builder.build import build

    settings, storage, (tracks, _members) = stack
    first = build(settings, until=TODAY)
    reader = _fresh_reader(settings.mysql_url)
    artists = sorted(tracks.artist_id.unique())
    before = {a: reader.current(a, limit=50) for a in artists}
    assert sum(len(v) for v in before.values()) == first["pairs"]

    # next build, with different data (a new playlist joins two distant artists), dies mid-insert
    _put(storage, "collection_member", [{"kind": "playlist", "collection_id": "new", "artist_id": a,
                                         "collection_name": "New"} for a in (artists[0], artists[-1])], TODAY)
    builder_conn = mysql.open_connection(settings.mysql_url)
    killer = mysql.open_connection(settings.mysql_url)
    real_chunks = mysql._chunks
    seen = []

    def chunks_then_kill(seq, size=mysql._CHUNK):
        for i, chunk in enumerate(real_chunks(seq, 100)):
            if i == 3:  # three chunks are in; kill the connection before the fourth
                with killer.cursor() as cur:
                    cur.execute("KILL %s", (builder_conn.thread_id(),))
            seen.append(len(chunk))
            yield chunk

    monkeypatch.setattr(mysql.related, "_chunks", chunks_then_kill)  # RelatedStore looks it up there
    with pytest.raises(pymysql.err.MySQLError):
        build(settings, until=TODAY, store=mysql.RelatedStore(builder_conn))
    assert len(seen) >= 3  # it really died mid-way, with rows of the new generation already written
    monkeypatch.setattr(mysql.related, "_chunks", real_chunks)

    after_reader = _fresh_reader(settings.mysql_url)
    assert after_reader.current_generation() == first["generation"]
    after = {a: after_reader.current(a, limit=50) for a in artists}
    assert after == before  # the previous generation, in full

    # and the next healthy build publishes and sweeps the dead one's rows
    second = build(settings, until=TODAY, store=mysql.RelatedStore(mysql.open_connection(settings.mysql_url)))
    assert second["generation"] > first["generation"]
    counts = _fresh_reader(settings.mysql_url).generation_counts()
    assert set(counts) == {first["generation"], second["generation"]}
    new = _fresh_reader(settings.mysql_url).current(artists[0], limit=5)
    assert new[0]["related_id"] == artists[-1] and new[0]["reason"]["playlists"] >= 1


def test_export_prints_names_rank_score(stack):
    import typer
    from typer.testing import CliRunner

    from consumers.related_builder.build import build
    from local.commands import related

    settings, _storage, (_tracks, _members) = stack
    summary = build(settings, until=TODAY)
    app = typer.Typer()
    related.register(app)
    res = CliRunner().invoke(app, ["related", "export", "--format", "csv", "--url", settings.mysql_url])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0] == "artist,related,rank,score"
    assert len(lines) == 1 + summary["pairs"]
    artist, rel, rank, score = lines[1].split(",")
    assert artist.startswith("Artist ") and rel.startswith("Artist ") and rank == "1" and float(score) > 0
