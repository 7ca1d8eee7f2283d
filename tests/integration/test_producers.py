"""Producers against the Spotify emulator (both modes) and moto (Kinesis, DynamoDB state, S3, Secrets Manager).

Everything stays on loopback. Records are read back from the stream and de-aggregated, so what is asserted is
what a consumer would receive.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import boto3
import pytest
from aws_kinesis_agg.deaggregator import deaggregate_records

from local.emulator import SpotifyEmulator, load_catalog
from local.lambda_context import LocalLambdaContext
from producers import catalog as catalog_fn
from producers import charts as charts_fn
from producers import listening as listening_fn
from producers.runtime import open_run
from sori.settings import clear_secret_cache, get_settings
from sori.spotify.client import shared_budget

NOW_MS = 1_795_000_000_000  # 2026-11-18, fixed emulator clock
WEEK = "2026-11-12"
BUDGET = 5000


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def emulator(catalog):
    emu = SpotifyEmulator(mode="extended", catalog=catalog).start()
    yield emu
    emu.stop()


class MemoryArtists:
    """The slice of ``sori.stores.mysql.ArtistStore`` the producers use, in memory (the MySQL test uses the real one)."""

    def __init__(self, rows=()):
        self.rows = {r["id"]: dict(r) for r in rows}

    def get_many(self, ids):
        return {i: self.rows[i] for i in ids if i in self.rows}

    def find_by_name_norm(self, name):
        from sori.text import normalize

        return [r for r in self.rows.values() if normalize(r["name"]) == normalize(name)]

    def upsert_artists(self, rows, source="catalog"):
        for r in rows:
            cur = self.rows.setdefault(r["id"], {})
            cur.update({k: v for k, v in r.items() if v is not None})
        return len(rows)


@pytest.fixture()
def stack(aws, emulator, monkeypatch):
    emulator.configure(mode="extended", quota_exceeded=False, burst_429={"count": 0}, burst_5xx={"count": 0},
                       rate_limit_per_30s=None, now_ms=NOW_MS, latency_ms=0)
    emulator.reset_stats()
    boto3.client("kinesis").create_stream(StreamName="records", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    boto3.client("dynamodb").create_table(
        TableName="state", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    boto3.client("s3").create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    env = {"SORI_STREAM_NAME": "records", "SORI_STATE_TABLE": "state", "SORI_BUCKET": "lake",
           "SORI_SPOTIFY_API_URL": emulator.api_prefix, "SORI_SPOTIFY_TOKEN_URL": emulator.token_url,
           "SORI_RECCOBEATS_URL": emulator.reccobeats_url, "SORI_SPOTIFY_CLIENT_ID": "sori-test",
           "SORI_SPOTIFY_CLIENT_SECRET": "secret", "SORI_CHARTS_CSV_URL": emulator.url + "/_emulator/charts",
           "SORI_SPOTIFY_BUDGET_PER_30S": str(BUDGET), "SORI_SPOTIFY_REFRESH_TOKEN": "seed-token"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("SORI_MYSQL_URL", "SORI_MYSQL_HOST", "SORI_LISTENING_SECRET_ARN", "SORI_SPOTIFY_SECRET_ARN",
              "SORI_DLQ_URL"):
        monkeypatch.delenv(k, raising=False)
    get_settings.cache_clear()
    clear_secret_cache()
    yield emulator
    get_settings.cache_clear()
    clear_secret_cache()


def stream_records(stream: str = "records") -> list[dict]:
    """Every user record on the stream, de-aggregated, decoded."""
    k = boto3.client("kinesis")
    out: list[Any] = []
    for shard in k.list_shards(StreamName=stream)["Shards"]:
        it = k.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = k.get_records(ShardIterator=it, Limit=10000)
            shaped = [{"kinesis": {"data": base64.b64encode(r["Data"]).decode(), "partitionKey": r["PartitionKey"],
                                   "sequenceNumber": r["SequenceNumber"], "kinesisSchemaVersion": "1.0",
                                   "approximateArrivalTimestamp": 0}} for r in resp["Records"]]
            out.extend(json.loads(base64.b64decode(u["kinesis"]["data"])) for u in deaggregate_records(shaped))
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return out


def of_type(recs, t):
    return [r for r in recs if r["type"] == t]


def pick_artists(catalog, n=60):
    """Popular artists with several tracks (a realistic nightly slice), deterministic."""
    ranked = sorted(catalog.artists.values(), key=lambda a: (-a.popularity, a.id))
    chosen = [a for a in ranked if len(catalog.tracks_by_artist.get(a.id, ())) >= 2][:n]
    return MemoryArtists({"id": a.id, "name": a.name, "genres": []} for a in chosen), [a.id for a in chosen]


def test_extended_mode_uses_the_primary_endpoints(stack, catalog):
    store, ids = pick_artists(catalog)
    s = catalog_fn.run_catalog({"artist_ids": ids}, open_run("catalog"), store)
    assert s["stopped"] is None and s["artists"] == len(ids) and s["fallbacks_used"] == []
    assert s["capabilities"]["top_tracks"] is True and s["capabilities"]["audio_features"] is True
    recs = stream_records()
    tops = of_type(recs, "top_track")
    assert {r["data"]["via"] for r in tops} == {"top-tracks"}
    assert {r["data"]["artist_id"] for r in tops} == set(ids)
    assert {r["data"]["artist_id"] for r in of_type(recs, "artist")} == set(ids)
    assert all(r["data"].get("popularity") is not None for r in of_type(recs, "artist"))
    assert {r["data"]["track_id"] for r in of_type(recs, "audio_features")} == {r["data"]["track_id"] for r in tops}
    assert s["kinesis"]["user_records"] == len(recs) and s["kinesis"]["kinesis_records"] < len(recs) / 10
    # no wasted calls: top-tracks once per artist, artists and features in batches
    by = stack.stats()["requests"]
    assert by["GET /v1/artists/{id}/top-tracks"] == len(ids)
    assert by["GET /v1/artists"] == 2 and by["GET /v1/audio-features"] <= len(tops) // 100 + 1
    assert all(store.rows[i].get("refreshed_at") for i in ids)  # written back for the chatbot

    w = charts_fn.run_charts({"countries": ["kr", "global"], "week": WEEK}, open_run("charts"), store)
    assert w["charts"] == {"kr": "top50-playlist", "global": "top50-playlist"} and w["fallbacks_used"] == []
    entries = of_type(stream_records(), "chart_entry")
    assert len(entries) == 100 and {e["data"]["via"] for e in entries} == {"top50-playlist"}


def test_development_mode_still_produces_everything_and_names_each_fallback(stack, catalog, monkeypatch, capsys):
    stack.configure(mode="development")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    store, ids = pick_artists(catalog, 40)
    s = catalog_fn.run_catalog({"artist_ids": ids}, open_run("catalog"), store)
    assert s["stopped"] is None and s["mode"] == "development"
    assert {"top_tracks→search", "audio_features→reccobeats", "artists→search"} <= set(s["fallbacks_used"])
    # the run's figures also go out as CloudWatch metrics (one EMF line)
    (emf,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert emf["service"] == "catalog" and emf["FallbacksUsed"] == [len(s["fallbacks_used"])]
    assert emf["PutPayloadUnits"] == [s["kinesis"]["put_units"]] and emf["Artists"] == [len(ids)]
    recs = stream_records()
    tops = of_type(recs, "top_track")
    assert {r["data"]["via"] for r in tops} == {"search"}
    assert len({r["data"]["artist_id"] for r in tops}) >= 0.9 * len(ids)  # search finds (almost) every artist
    feats = of_type(recs, "audio_features")
    assert feats and {r["data"]["via"] for r in feats} == {"reccobeats"}
    assert "time_signature" not in feats[0]["data"]  # ReccoBeats has none: recorded as absent, not invented
    by = stack.stats()["requests"]
    assert by["GET /v1/search"] == len(ids) and "GET /v1/artists/{id}" not in by  # names known: no extra calls

    w = charts_fn.run_charts({"countries": ["kr"], "week": WEEK}, open_run("charts"), store)
    assert w["charts"] == {"kr": "csv"} and "charts→csv" in w["fallbacks_used"]
    entries = of_type(stream_records(), "chart_entry")
    assert len(entries) == 200 and all(e["data"]["artist_ids"] for e in entries)
    assert {e["source"] for e in entries} == {"charts.spotify.com"}
    assert len(of_type(stream_records(), "audio_features")) > len(feats)


def test_queued_refresh_requests_skip_fresh_artists_and_duplicates(stack, catalog):
    """Many chatbot containers asking about the same artists cost one refresh each, not one per message."""
    store, ids = pick_artists(catalog, 3)
    fresh, stale, new = ids
    now = dt.datetime.now(dt.UTC)
    store.rows[fresh]["refreshed_at"] = now - dt.timedelta(minutes=5)
    store.rows[stale]["refreshed_at"] = (now - dt.timedelta(hours=3)).isoformat()
    bodies = [[fresh, stale], [stale], [new], [fresh]]
    event = {"Records": [{"messageId": f"m{i}", "body": json.dumps({"artist_ids": b})} for i, b in enumerate(bodies)]}
    s = catalog_fn.run_catalog(event, open_run("catalog"), store)
    assert s["artists"] == 2 and s["skipped_fresh"] == 1 and "batchItemFailures" not in s
    assert stack.stats()["requests"]["GET /v1/artists/{id}/top-tracks"] == 2  # stale and new, once each
    assert {r["data"]["artist_id"] for r in of_type(stream_records(), "artist")} == {stale, new}
    # a direct request (the CLI, an operator) is not second-guessed
    s = catalog_fn.run_catalog({"artist_ids": [fresh]}, open_run("catalog"), store)
    assert s["artists"] == 1 and s["skipped_fresh"] == 0


def test_queued_name_lookups_find_refresh_and_store_the_artist(stack, catalog):
    """The chatbot did not know a name (issue 14 item 8): it queues {"artist_names": [...]}; the catalog looks the
    name up on Spotify (a Hangul name too), refreshes that artist and stores it, so asking again finds it."""
    store, _ = pick_artists(catalog, 1)
    kid = next(a for a, names in sorted(catalog.korean_names.items())
               if a not in store.rows and len(catalog.tracks_by_artist.get(a, ())) >= 2)
    hangul = catalog.korean_names[kid][0]
    event = {"Records": [{"messageId": "m1", "body": json.dumps({"artist_ids": [], "artist_names": [hangul]})},
                         {"messageId": "m2", "body": json.dumps({"artist_names": [hangul]})}]}
    s = catalog_fn.run_catalog(event, open_run("catalog"), store)
    assert s["artists"] == 1 and "batchItemFailures" not in s
    assert kid in store.rows and store.rows[kid]["name"] == catalog.artists[kid].name
    assert {r["data"]["artist_id"] for r in of_type(stream_records(), "artist")} == {kid}


def test_a_queued_batch_never_becomes_a_nightly_run(stack, catalog):
    store, _ = pick_artists(catalog, 5)
    empty: list[list[dict[str, list[str]]]] = [[{"artist_ids": []}], [{"artist_names": []}],
                                               [{"artist_ids": [], "artist_names": []}]]
    for bodies in empty:
        event = {"Records": [{"messageId": f"m{i}", "body": json.dumps(b)} for i, b in enumerate(bodies)]}
        s = catalog_fn.run_catalog(event, open_run("catalog"), store)
        assert s["artists"] == 0 and "batchItemFailures" not in s, s
    poison = {"Records": [{"messageId": "p", "body": json.dumps({"artist_names": [""]})},
                          {"messageId": "q", "body": json.dumps({"names": ["x"]})}]}
    s = catalog_fn.run_catalog(poison, open_run("catalog"), store)
    assert s["artists"] == 0 and s["batchItemFailures"] == [{"itemIdentifier": "p"}, {"itemIdentifier": "q"}]


def test_429_bursts_are_absorbed_honouring_retry_after(stack, catalog):
    store, ids = pick_artists(catalog, 20)
    clean = catalog_fn.run_catalog({"artist_ids": ids}, open_run("catalog"), store)
    before = shared_budget("spotify", BUDGET).pauses
    stack.configure(burst_429={"count": 3, "retry_after": 1})
    s = catalog_fn.run_catalog({"artist_ids": ids}, open_run("catalog"), store)
    assert s["stopped"] is None and s["records"] == clean["records"]
    assert shared_budget("spotify", BUDGET).pauses - before >= 1
    assert s["calls"] == clean["calls"] + 3  # exactly the three refused requests were repeated
    from collections import Counter

    assert set(Counter(r["id"] for r in stream_records()).values()) == {2}  # both runs: the same records, once each


def test_quota_exceeded_checkpoints_and_the_next_run_resumes(stack, catalog):
    store, ids = pick_artists(catalog, 120)
    run = open_run("catalog")
    run.sources.workers = 1
    seen = []
    orig = run.sources.top_tracks

    def top_tracks(artist_id, name):
        seen.append(artist_id)
        if len(seen) == 61:
            stack.configure(quota_exceeded=True)
        return orig(artist_id, name)
    run.sources.top_tracks = top_tracks  # type: ignore[method-assign]  # the test's quota trip-wire
    s1 = catalog_fn.run_catalog({"artist_ids": ids}, run, store)
    assert s1["stopped"] == "QUOTA_EXCEEDED" and s1["artists"] == 50 and s1["pending_artists"] == 70
    first = stream_records()
    assert len({r["data"]["artist_id"] for r in of_type(first, "artist")}) == 50  # the finished chunk was sent

    stack.configure(quota_exceeded=False)
    s2 = catalog_fn.run_catalog({}, open_run("catalog"), None)  # the nightly schedule: resume from the checkpoint
    assert s2["resumed_from"]["pending_artists"] == 70 and s2["artists"] == 70 and s2["stopped"] is None
    all_recs = stream_records()
    assert {r["data"]["artist_id"] for r in of_type(all_recs, "artist")} == set(ids)
    tops = of_type(all_recs, "top_track")
    assert {r["data"]["track_id"] for r in of_type(all_recs, "audio_features")} == {r["data"]["track_id"] for r in tops}
    s3 = catalog_fn.run_catalog({}, open_run("catalog"), None)
    assert s3["resumed_from"] is None and s3["artists"] == 0  # checkpoint cleared


def test_rerunning_a_producer_emits_identical_record_ids(stack, catalog):
    store, ids = pick_artists(catalog, 15)
    catalog_fn.run_catalog({"artist_ids": ids}, open_run("catalog"), store)
    charts_fn.run_charts({"countries": ["kr"], "week": WEEK}, open_run("charts"), store)
    first = sorted(r["id"] for r in stream_records())
    catalog_fn.run_catalog({"artist_ids": ids}, open_run("catalog"), store)
    charts_fn.run_charts({"countries": ["kr"], "week": WEEK}, open_run("charts"), store)
    both = sorted(r["id"] for r in stream_records())
    assert both == sorted(first + first)


class FlakyKinesis:
    """moto never fails entries: fail every third entry of each first attempt, forward the rest to moto."""

    def __init__(self):
        self.real = boto3.client("kinesis")
        self.failed = 0
        self.seen: set = set()

    def list_shards(self, **kw):
        return self.real.list_shards(**kw)

    def put_records(self, StreamName, Records):
        keep: list[Any] = []
        result: list[dict[str, str] | None] = []
        for i, r in enumerate(Records):
            key = r["Data"]
            if i % 3 == 0 and key not in self.seen:
                self.seen.add(key)
                self.failed += 1
                result.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate"})
            else:
                keep.append(r)
                result.append(None)
        ok = iter(self.real.put_records(StreamName=StreamName, Records=keep)["Records"]) if keep else iter(())
        out = [x if x is not None else next(ok) for x in result]
        return {"FailedRecordCount": sum(1 for x in out if "ErrorCode" in x), "Records": out}


def test_putrecords_partial_failures_lose_and_double_nothing(stack, catalog):
    from sori.kinesis.producer import KinesisProducer

    store, ids = pick_artists(catalog, 80)
    flaky = FlakyKinesis()
    run = open_run("catalog", producer=KinesisProducer("records", client=flaky, aggregate_bytes=4000,
                                                       sleep=lambda s: None))
    s = catalog_fn.run_catalog({"artist_ids": ids}, run, store)
    assert flaky.failed > 0
    got = [r["id"] for r in stream_records()]
    assert len(got) == len(set(got)) == s["kinesis"]["user_records"] == sum(s["records"].values())


def s3_event(key: str) -> dict:
    return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "lake"}, "object": {"key": key}}}]}


def test_a_weekly_csv_drop_lands_as_200_chart_entries_and_a_bad_one_is_rejected_whole(stack, catalog):
    import requests

    csv_bytes = requests.get(stack.chart_csv_url("kr", WEEK), timeout=10).content
    assert csv_bytes.startswith("\ufeff".encode()) and b"\r\n" in csv_bytes
    s3 = boto3.client("s3")
    key = f"landing/charts/regional-kr-weekly-{WEEK}.csv"
    s3.put_object(Bucket="lake", Key=key, Body=csv_bytes)
    out = charts_fn.s3_handler(s3_event(key), LocalLambdaContext())
    assert out["rejected"] == [] and out["files"][0]["entries"] == 200
    entries = of_type(stream_records(), "chart_entry")
    assert len(entries) == 200 and sorted(e["data"]["rank"] for e in entries) == list(range(1, 201))
    assert all(e["data"]["week"] == WEEK and e["data"]["country"] == "kr" for e in entries)

    # metadata instead of the file name
    s3.put_object(Bucket="lake", Key="landing/charts/upload.csv", Body=csv_bytes,
                  Metadata={"country": "kr", "week": WEEK})
    assert charts_fn.s3_handler(s3_event("landing/charts/upload.csv"), LocalLambdaContext())["files"]
    n_before = len(stream_records())

    cut = csv_bytes[: len(csv_bytes) * 2 // 3]
    bad = f"landing/charts/regional-us-weekly-{WEEK}.csv"
    s3.put_object(Bucket="lake", Key=bad, Body=cut)
    out = charts_fn.s3_handler(s3_event(bad), LocalLambdaContext())
    assert out["files"] == [] and "line" in out["rejected"][0]["error"]
    assert len(stream_records()) == n_before  # nothing of the bad file was sent
    reason = s3.get_object(Bucket="lake", Key=f"rejected/charts/regional-us-weekly-{WEEK}.csv.error.txt")
    assert f"regional-us-weekly-{WEEK}.csv line" in reason["Body"].read().decode()


def test_listening_cursor_is_durable_and_the_rotated_token_is_written_back(stack, monkeypatch):
    sm = boto3.client("secretsmanager")
    arn = sm.create_secret(Name="listening", SecretString=json.dumps({"refresh_token": "seed"}))["ARN"]
    monkeypatch.setenv("SORI_LISTENING_SECRET_ARN", arn)
    get_settings.cache_clear()
    stack.configure(rotate_refresh_token=True)  # the real service may rotate it; by default it keeps it
    s1 = listening_fn.lambda_handler({"job": "recently_played"}, LocalLambdaContext())
    stack.configure(rotate_refresh_token=False)
    assert s1["plays"] > 0 and s1["token_rotated"]
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["refresh_token"] != "seed"
    s2 = listening_fn.lambda_handler({"job": "recently_played"}, LocalLambdaContext())
    assert s2["plays"] == 0  # nothing doubled
    stack.configure(now_ms=NOW_MS + 6 * 3600 * 1000)
    s3 = listening_fn.lambda_handler({"job": "recently_played"}, LocalLambdaContext())
    plays = of_type(stream_records(), "play")
    ids = [p["id"] for p in plays]
    assert len(ids) == len(set(ids)) == s1["plays"] + s3["plays"]
    assert s3["plays"] > 0 and s3["cursor_before"] == s1["cursor_after"]
    assert of_type(stream_records(), "collection_member")
    f = listening_fn.lambda_handler({"job": "followed_artists"}, LocalLambdaContext())
    assert f["followed"] == len(of_type(stream_records(), "followed_artist")) > 0


def test_nightly_refreshes_stale_rds_artists_and_writes_them_back(stack, catalog, mysql_url, monkeypatch):
    from sori.stores.mysql import ArtistStore, connect

    monkeypatch.setenv("SORI_MYSQL_URL", mysql_url)
    get_settings.cache_clear()
    store = ArtistStore(connect(get_settings()))
    _, ids = pick_artists(catalog, 30)
    shinee = catalog.find_artist("SHINee").id
    ids = [*[i for i in ids if i != shinee][:29], shinee]
    store.upsert_artists([{"id": i, "name": catalog.artists[i].name} for i in ids], source="seed")
    s = catalog_fn.lambda_handler({}, LocalLambdaContext())
    assert s["artists"] == 30 and s["collections"] > 0  # the listening user's playlists too
    # the curated Hangul aliases follow the artists the nightly now knows
    assert s["aliases_seeded"] >= 1 and [a["id"] for a in store.find_by_alias("샤이니")] == [shinee]
    rows = store.get_many(ids)
    assert all(r["refreshed_at"] is not None and r["genres"] for r in rows.values())
    again = catalog_fn.lambda_handler({}, LocalLambdaContext())
    assert again["artists"] == 0  # nothing stale any more
    w = charts_fn.lambda_handler({"countries": ["kr"], "week": WEEK}, LocalLambdaContext())
    assert w["artists_seeded"] > 0  # chart artists become catalog artists for the next nightly
    day_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=20)
    assert len(store.stale_artists(day_ago)) == w["artists_seeded"]
