"""Compaction (interrupted anywhere: every row exactly once) and DuckDB over the lake, against moto."""
from __future__ import annotations

import pyarrow as pa
import pytest
from test_consumers import DAY, Crash, events, expected_ids, lake_ids, make_env, s3_consume

from consumers.s3_sink.compact import lambda_handler as compact_handler
from local.mapping import sample_records
from sori import lake
from sori.duck import LakeDuck
from sori.lake import LakeStorage, compact_partition, live_files, to_parquet
from sori.records import lake_row, validate
from sori.settings import get_settings


def _fill(env, recs, batch_size=3, reput=True):
    """Many small objects per partition, plus (``reput``) a duplicate of some rows: a producer re-put."""
    for ev in events(recs, batch_size=batch_size, aggregate_bytes=2048):
        assert s3_consume(env, ev) == {"batchItemFailures": []}
    if not reput:
        return
    dup = [r for r in recs if r["type"] == "top_track"][:5]
    for ev in events(dup, first_seq=59650000000000000000000000000000000000000000000000000000):
        assert s3_consume(env, ev) == {"batchItemFailures": []}


class CrashAfter(LakeStorage):
    """Storage that dies (``Crash``) at its n-th mutating call: put or delete."""

    def __init__(self, env, n: int):
        super().__init__(env.bucket)
        self.n, self.calls = n, 0

    def _tick(self):
        self.calls += 1
        if self.calls == self.n:
            raise Crash()

    def put(self, key, body):
        self._tick()
        super().put(key, body)

    def delete(self, keys):
        keys = list(keys)
        for k in keys:  # one by one, so a crash can land between any two deletes
            self._tick()
            super().delete([k])


def test_compaction_merges_small_files_and_drops_duplicates(aws, monkeypatch):
    env = make_env(monkeypatch)
    recs = sample_records(150)
    _fill(env, recs, batch_size=5)
    before = len(live_files(env.storage, "top_tracks", DAY))
    assert before > 5
    assert max(lake_ids(env, "top_tracks").values()) == 2  # the re-put duplicates, before compaction
    report = compact_partition(env.storage, "top_tracks", DAY, target_rows=40)
    want = expected_ids(recs, "top_tracks")
    assert lake_ids(env, "top_tracks") == want
    assert report.inputs == before and report.rows_out == sum(want.values())
    assert report.outputs == -(-sum(want.values()) // 40)
    names = [o.name for o in env.storage.list_partition("top_tracks", DAY)]
    assert len(names) == report.outputs and all(n.startswith("compacted-") for n in names)
    # compacting again (one file left per 40 rows) changes nothing
    assert compact_partition(env.storage, "top_tracks", DAY, target_rows=10**6).rows_out == sum(want.values())
    assert lake_ids(env, "top_tracks") == want


def test_interrupted_compaction_loses_and_duplicates_nothing(aws, monkeypatch):
    env = make_env(monkeypatch)
    recs = [r for r in sample_records(120) if r["type"] == "top_track"]
    _fill(env, recs, batch_size=2, reput=False)
    want = expected_ids(recs, "top_tracks")
    snapshot = {o.key: env.storage.get(o.key) for o in env.storage.list_partition("top_tracks", DAY)}
    probe = CrashAfter(env, n=10**9)
    compact_partition(probe, "top_tracks", DAY, target_rows=25)
    total_steps = probe.calls
    assert total_steps > 5
    for n in range(1, total_steps + 1):
        # restore the pre-compaction lake, crash at step n, then check what readers see
        env.storage.delete(o.key for o in env.storage.list_partition("top_tracks", DAY))
        for k, body in snapshot.items():
            env.storage.put(k, body)
        with pytest.raises(Crash):
            compact_partition(CrashAfter(env, n), "top_tracks", DAY, target_rows=25)
        assert lake_ids(env, "top_tracks") == want, f"after a crash at step {n}"
        with LakeDuck(get_settings(), tables=["top_tracks"]) as duck:
            got = duck.query("SELECT record_id, count(*) AS n FROM top_tracks WHERE dt = ? GROUP BY 1", [DAY])
            assert dict(zip(*got.to_pydict().values(), strict=False)) == dict(want)
        # the next run finishes (or rolls back) the leftover and compacts
        report = compact_partition(env.storage, "top_tracks", DAY, target_rows=25)
        assert lake_ids(env, "top_tracks") == want, f"after recovering from a crash at step {n}"
        names = [o.name for o in env.storage.list_partition("top_tracks", DAY)]
        assert all(nm.startswith("compacted-") for nm in names) and not any(nm.startswith("_") for nm in names)
        assert bool(report.recovered) == (n >= 2)  # from step 2 on a manifest was left to finish/roll back


def test_compact_function_compacts_old_partitions_only(aws, monkeypatch):
    env = make_env(monkeypatch)
    recs = sample_records(60) + sample_records(60, day="2026-11-23", seed=2)
    _fill(env, recs)
    resp = compact_handler({"today": "2026-11-23"}, None)
    done = {(r["table"], r["dt"]) for r in resp["compacted"]}
    assert ("top_tracks", DAY) in done and not any(dt == "2026-11-23" for _, dt in done)
    assert lake_ids(env, "top_tracks") == expected_ids(recs, "top_tracks")
    assert all(o.name.startswith("compacted-") for o in env.storage.list_partition("top_tracks", DAY))
    assert not any(o.name.startswith("compacted-") for o in env.storage.list_partition("top_tracks", "2026-11-23"))


def test_duckdb_reads_the_lake_with_dt_and_schema_evolution(aws, monkeypatch):
    env = make_env(monkeypatch)
    recs = sample_records(80) + sample_records(40, day="2026-11-23", seed=5)
    _fill(env, recs)
    # a file written before `followers` and `url` existed in the contract
    old_rows = [lake_row(validate(r)) for r in sample_records(3, day="2026-11-20", seed=9) if r["type"] == "artist"]
    old = pa.Table.from_pylist(old_rows, schema=lake.arrow_schema("artists")).drop_columns(["followers", "url"])
    env.storage.put(env.storage.key("artists", "2026-11-20", "shardId-000000000009-1-1.snappy.parquet"), to_parquet(old))
    with LakeDuck(get_settings()) as duck:
        got = duck.query("SELECT dt, count(*) AS n, count(followers) AS f FROM artists GROUP BY dt ORDER BY dt")
        assert got.to_pylist() == [
            {"dt": "2026-11-20", "n": 1, "f": 0},
            {"dt": DAY, "n": sum(r["type"] == "artist" and r["emitted_at"][:10] == DAY for r in recs), "f": 0},
            {"dt": "2026-11-23", "n": sum(r["type"] == "artist" and r["emitted_at"][:10] == "2026-11-23" for r in recs), "f": 0}]
        joined = duck.query("SELECT count(*) AS n FROM top_tracks t JOIN audio_features a USING (track_id) "
                            "WHERE t.dt = $d AND a.dt = t.dt", {"d": DAY}).column("n")[0].as_py()
        assert joined == sum(expected_ids(recs, "top_tracks").values()) + 5  # the 5 re-put duplicates join too
    with LakeDuck(get_settings(), dedup=True, partitions={"top_tracks": [DAY]}, tables=["top_tracks"]) as duck:
        n = duck.query("SELECT count(*) AS n FROM top_tracks").column("n")[0].as_py()
        assert n == sum(expected_ids(recs, "top_tracks").values())
        assert duck.files["top_tracks"] and all("/dt=2026-11-22/" in k for k in duck.files["top_tracks"])
    with LakeDuck(get_settings(), dt_from="2026-11-23") as duck:
        assert duck.query("SELECT DISTINCT dt FROM plays").column("dt").to_pylist() in ([], ["2026-11-23"])
        assert duck.query("SELECT count(*) AS n FROM followed_artists WHERE dt < '2026-11-23'").column("n")[0].as_py() == 0


def test_cli_query_and_compact(aws, monkeypatch, tmp_path):
    import json

    from test_consumers import fake_stack

    env = make_env(monkeypatch)
    recs = sample_records(60)
    _fill(env, recs, reput=False)
    sori = fake_stack(monkeypatch, tmp_path, env)
    out = sori("query", "--json", "SELECT dt, count(*) AS n FROM top_tracks GROUP BY dt")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [{"dt": DAY, "n": sum(expected_ids(recs, "top_tracks").values())}]
    table = sori("query", "SELECT count(*) AS n FROM artists")
    assert "1 row(s)" in table.output
    assert sori("query", "SELECT nope FROM artists").exit_code == 2
    done = json.loads(sori("compact", "--table", "top_tracks", "--dt", DAY, "--json").output)
    assert [(r["table"], r["dt"], r["rows_out"]) for r in done] == [("top_tracks", DAY, len(expected_ids(recs, "top_tracks")))]
    assert lake_ids(env, "top_tracks") == expected_ids(recs, "top_tracks")
