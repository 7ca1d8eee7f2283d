"""dynamo_sink: DynamoDB requests per 1,000 top_track records, through the real consumer path.

Lambda-shaped events of aggregated records → ``consume`` → ``TopTracksSink`` → ``TopTracksStore`` against an
in-process moto DynamoDB; requests are counted on the client (botocore ``before-call``), per writer mode and
per situation: fresh keys (empty table), a refresh (next day's snapshot over existing keys), a replay
(the same batch again: every write is stale, nothing may change), and a mixed batch (half stale, half newer:
a cancelled transaction is resent without its stale items).

    .venv/bin/python bench/dynamo_sink.py [--records 1000]

Prints one JSON line; the issue's key is ``requests_per_1000`` (default writer, fresh keys). Goal ≤ 40.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3
from moto import mock_aws

from local import moto_patches

moto_patches.install()  # moto copies the whole table per transaction otherwise (cost only; same outcome)

from consumers.dynamo_sink.logic import TopTracksSink  # noqa: E402
from local.mapping import sample_records, synthetic_events  # noqa: E402
from sori.consumer import consume  # noqa: E402
from sori.dlq import DeadLetterQueue  # noqa: E402
from sori.stores.dynamo import TopTracksStore  # noqa: E402


def top_tracks(n: int, day: str) -> list[dict]:
    out = [r for r in sample_records(int(n * 3.6) + 40, day=day) if r["type"] == "top_track"]
    assert len(out) >= n
    return out[:n]


def run(mode: str, n: int, batch: int) -> dict:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="ap-northeast-2")
        ddb.create_table(TableName="tt", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "artist_id", "AttributeType": "S"},
                                               {"AttributeName": "track_id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "artist_id", "KeyType": "HASH"},
                                    {"AttributeName": "track_id", "KeyType": "RANGE"}])
        calls: dict[str, int] = {}

        def count(event_name, **_):
            op = event_name.rsplit(".", 1)[-1]
            calls[op] = calls.get(op, 0) + 1

        ddb.meta.events.register("before-call.dynamodb", count)
        sink = TopTracksSink(TopTracksStore("tt", ddb, mode=mode))
        dlq = DeadLetterQueue("unused")
        out = {}
        day3, day4 = top_tracks(n, "2026-11-23"), top_tracks(n, "2026-11-24")
        mixed = [a if i % 2 else b for i, (a, b) in enumerate(zip(day3, day4, strict=False))]  # half stale, half newer
        for label, recs in (("fresh", top_tracks(n, "2026-11-22")), ("refresh", day3), ("replay", day3),
                            ("mixed", mixed)):
            calls.clear()
            t0 = time.perf_counter()
            for ev in synthetic_events(recs, batch_size=batch):
                assert consume(ev, sink, dlq=dlq) == {"batchItemFailures": []}
            out[label] = {"requests_per_1000": round(sum(calls.values()) * 1000 / n, 1), "by_operation": dict(calls),
                          "seconds": round(time.perf_counter() - t0, 2)}
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100, help="Kinesis records (aggregates) per Lambda event")
    a = ap.parse_args()
    results = {mode: run(mode, a.records, a.batch) for mode in ("transact", "batch")}
    print(json.dumps({
        "requests_per_1000": results["transact"]["fresh"]["requests_per_1000"],
        "records": a.records,
        **{f"{mode}_{label}_requests_per_1000": r["requests_per_1000"]
           for mode, res in results.items() for label, r in res.items()},
        "detail": results,
        "machine": f"{platform.machine()} py{platform.python_version()}",
    }))


if __name__ == "__main__":
    main()
