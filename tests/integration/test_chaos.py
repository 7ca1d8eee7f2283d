"""`sori chaos` at CI size: 20,000+ records through the whole local flow under every fault, reconciled.

Also: the harness fails when the pipeline really loses or doubles data (a sabotaged run), and the moto
TransactWriteItems workaround it relies on keeps all-or-nothing semantics.
"""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from local.chaos import ChaosConfig, moto_transactions_backed_up_per_item, run_chaos

CI_RECORDS = 20_000


@pytest.fixture(scope="module")
def report(mysql_server_url):
    return run_chaos(ChaosConfig(records=CI_RECORDS, seed=11, mysql_server=mysql_server_url))


def test_nothing_lost_nothing_doubled_no_shard_blocked(report):
    s = report.summary()
    assert s["produced"] >= CI_RECORDS
    assert (s["lost"], s["duplicated"], s["blocked_shards"]) == (0, 0, 0), report.as_dict()["details"]
    assert s["dead_lettered"] == s["poison"] > 0
    assert s["landed_lake"] == report.details["valid_records"]
    # one lake row per user record put (ids a producer sent twice are two rows, collapsed by compaction)
    assert report.details["lake_rows"] == s["produced"] - s["poison"]
    assert s["landed_dynamo"] == report.details["top_track_keys"] > 0
    assert report.details["lake_unexpected_ids"] == report.details["dynamo_unexpected"] == 0
    assert report.ok


def test_every_fault_actually_fired(report):
    f = report.faults
    assert report.faults_missing == []
    assert f["put_records"]["failed_entries"] > 0
    assert all(f["consumer_crashes"][fn]["crashes"] >= 1 for fn in ("DynamoSinkFunction", "S3SinkFunction"))
    assert set(f["poison"]["kinds"]) == {"bad_json", "not_utf8", "unknown_type", "unknown_version",
                                         "schema_violation"}
    sp = f["spotify_bursts"]
    assert sp["ok"] and sp["charts"]["stopped"] is None and sp["catalog"]["stopped"] is None
    assert sp["catalog"]["records"].get("top_track", 0) > 0  # real producer records joined the reconciliation
    swap = f["mysql_kill_during_swap"]
    assert swap["killed"] and "Lost connection" in swap["error"]
    assert swap["served_during_crash"] == swap["previous_generation"] and swap["previous_unchanged"]
    assert swap["retry_published"]
    assert f["runner_kill"]["restarts"] == 1 and "died after writing" in f["runner_kill"]["kills"][0]


def test_each_consumer_dead_letters_every_poison_record_with_a_reason(report):
    for fn, q in report.details["dlq"].items():
        assert q["poison_records"] == report.poison, fn
        assert q["not_poison"] == 0 and q["on_failure"] == 0, fn
        assert any(r.startswith("bad JSON") for r in q["reasons"]) and any("unknown type" in r for r in q["reasons"])


def test_the_reconciliation_catches_a_sink_that_loses_or_doubles(mysql_server_url):
    bad = run_chaos(ChaosConfig(records=1_500, seed=3, mysql_server=mysql_server_url, spotify=False,
                                related_swap=False, kill_runner=False, crash_rate=0.0,
                                sabotage=frozenset({"drop", "duplicate"})))
    assert bad.faults["sabotage"]["done"] == ["drop", "duplicate"]
    assert bad.lost > 0 and bad.details["dynamo_missing"] > 0
    assert bad.duplicated > 0 and bad.details["lake_duplicate_rows"] > 0
    assert not bad.ok


def test_moto_transactions_stay_all_or_nothing_with_the_per_item_backup(aws):
    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    put = lambda pk, v, cond=None: {"Put": {"TableName": "t", "Item": {"pk": {"S": pk}, "v": {"N": v}},  # noqa: E731
                                            **({"ConditionExpression": cond} if cond else {})}}
    with moto_transactions_backed_up_per_item():
        with pytest.raises(ClientError) as e:
            ddb.transact_write_items(TransactItems=[put("b", "2"), put("a", "3", "attribute_not_exists(pk)"),
                                                    put("c", "4")])
        assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
        items = {i["pk"]["S"]: i["v"]["N"] for i in ddb.scan(TableName="t")["Items"]}
        assert items == {"a": "1"}  # nothing of the cancelled transaction stayed
        ddb.transact_write_items(TransactItems=[put("b", "2"), put("a", "3")])
        assert {i["pk"]["S"]: i["v"]["N"] for i in ddb.scan(TableName="t")["Items"]} == {"a": "3", "b": "2"}
