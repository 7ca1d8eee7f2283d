"""PUT payload units per 10,000 user records of ~350 B through the aggregating producer (moto Kinesis, on-demand).

Prints one JSON line: ``units`` (25 KB PUT payload units billed), ``floor`` (total user-record bytes / 25 KB),
``ratio`` (units / floor; goal ≤ 1.05), plus ``one_per_call_units`` (a design putting one record per call).

    .venv/bin/python bench/producer_aggregation.py
"""
from __future__ import annotations

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

N = 10_000
TARGET = 350


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def records(n: int) -> list[dict]:
    from sori.records import encode, make_record

    out = []
    for i in range(n):
        data = {"artist_id": f"{i % 997:022d}", "track_id": f"{i:022d}", "name": f"Song {i}", "rank": 1 + i % 10,
                "album": "", "artist_name": "Artist", "via": "top-tracks"}
        rec = make_record("top_track", data, source="spotify", emitted_at="2026-11-22T18:00:00Z")
        pad = TARGET - len(encode(rec))
        if pad > 0:
            rec = make_record("top_track", {**data, "album": "x" * pad}, source="spotify",
                              emitted_at="2026-11-22T18:00:00Z")
        out.append(rec)
    return out


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    try:
        import boto3

        from sori.kinesis.producer import PUT_UNIT_BYTES, KinesisProducer
        from sori.records import encode, partition_key

        boto3.client("kinesis").create_stream(StreamName="bench", StreamModeDetails={"StreamMode": "ON_DEMAND"})
        recs = records(N)
        total = sum(len(encode(r)) for r in recs)
        producer = KinesisProducer("bench")
        report = producer.put(recs)
        floor = total / PUT_UNIT_BYTES
        one_per_call = sum(-(-(len(encode(r)) + len(partition_key(r))) // PUT_UNIT_BYTES) for r in recs)
        print(json.dumps({"units": report.put_units, "floor": round(floor, 2),
                          "ratio": round(report.put_units / floor, 4),
                          "user_records": report.user_records, "kinesis_records": report.kinesis_records,
                          "avg_record_bytes": round(total / N, 1), "shards": len(producer.shard_map().ids),
                          "one_per_call_units": one_per_call, "put_calls": report.calls,
                          # what the KPL framing (protobuf + partition-key table + md5) adds, and how tightly the
                          # framed bytes are packed into units (per-shard tail aggregates)
                          "floor_with_keys": round(sum(len(encode(r)) + len(partition_key(r)) for r in recs)
                                                   / PUT_UNIT_BYTES, 2),
                          "framed_bytes": report.bytes, "framing_overhead": round(report.bytes / total - 1, 4),
                          "packing_ratio": round(report.put_units / (report.bytes / PUT_UNIT_BYTES), 4)}))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
