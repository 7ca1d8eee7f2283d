"""s3_sink hot path: Lambda-shaped events of KPL-aggregated records → parquet bytes, one core, no network.

What is measured: for each event (85 Kinesis records of ≈50 KB KPL aggregates, ≈10,000 user records of every
record type, as ``local.mapping.synthetic_events`` builds them), everything the S3SinkFunction does per
invocation except the S3/Glue/SQS calls — ``sori.consumer.unpack_items`` (base64, KPL MD5 check, protobuf
deaggregation), ``consumers.s3_sink.logic.decode_columnar`` (type peek, JSON lines → Arrow per record type,
the record contract's checks vectorised, poison split off), ``plan_objects`` (one object per table × dt) and
``sori.lake.to_parquet`` (snappy parquet bytes). For the ratio, a straightforward per-record path over the
same events: json.loads → validate → lake_row → pylist → parquet.

    .venv/bin/python bench/s3_sink_throughput.py [--records 200000] [--batch 85] [--aggregate-bytes 51200]

Prints one JSON line; the issue's key is ``records_per_s`` (goal ≥ 200,000): user records per CPU-second of
this process, which runs single-threaded (Arrow's pools set to one thread, the JSON reader without threads),
i.e. throughput on one core — steadier on a shared machine than wall-clock time (``wall_records_per_s`` is
printed too; both are the best of ``--repeat`` runs). A busy neighbour still slows a core's caches, so compare
``speedup`` (fast over naive, measured in the same run) across machines, and note ``load_avg_1m``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pyarrow as pa

pa.set_cpu_count(1)
pa.set_io_thread_count(1)

from consumers.s3_sink.logic import decode_columnar, plan_objects  # noqa: E402
from local.mapping import sample_records, synthetic_events  # noqa: E402
from sori.consumer import unpack_items  # noqa: E402
from sori.lake import arrow_schema, to_parquet  # noqa: E402
from sori.records import lake_row, validate  # noqa: E402


def fast_path(events) -> tuple[int, int]:
    n = size = 0
    for ev in events:
        batch = decode_columnar(unpack_items(ev))
        for plan in plan_objects(batch):
            size += len(to_parquet(plan.data()))
        n += batch.rows
    return n, size


def naive_path(events) -> tuple[int, int]:
    n = size = 0
    for ev in events:
        rows: dict[tuple[str, str], list[dict]] = {}
        for item in unpack_items(ev):
            for p in item.payloads:
                rec = validate(json.loads(p))
                rows.setdefault((rec.spec.table, rec.dt), []).append(lake_row(rec))
        for (table, _dt), rs in rows.items():
            size += len(to_parquet(pa.Table.from_pylist(rs, schema=arrow_schema(table))))
            n += len(rs)
    return n, size


def timed(fn, events, repeat: int) -> tuple[float, float, int, int]:
    """Best of ``repeat`` runs: (CPU seconds of this single-threaded process, wall seconds, records, bytes)."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        n, size = fn(events)
        best_cpu, best_wall = min(best_cpu, time.process_time() - c0), min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, n, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=85,
                    help="Kinesis records (aggregates) per Lambda event (85 × 50 KB ≈ the 6 MB payload cap)")
    ap.add_argument("--aggregate-bytes", type=int, default=51200, help="KPL AggregationMaxSize default")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    recs = sample_records(a.records)
    events = synthetic_events(recs, batch_size=a.batch, aggregate_bytes=a.aggregate_bytes)
    decode_columnar(unpack_items(events[0]))  # warm-up (imports, kernels)
    cpu_fast, wall_fast, n_fast, bytes_fast = timed(fast_path, events, a.repeat)
    cpu_naive, wall_naive, n_naive, _ = timed(naive_path, events, max(1, a.repeat - 1))
    assert n_fast == n_naive == a.records, (n_fast, n_naive, a.records)
    print(json.dumps({
        "records_per_s": round(n_fast / cpu_fast),  # per core: CPU time of a single-threaded run
        "naive_records_per_s": round(n_naive / cpu_naive),
        "speedup": round(cpu_naive / cpu_fast, 2),
        "wall_records_per_s": round(n_fast / wall_fast), "wall_naive_records_per_s": round(n_naive / wall_naive),
        "records": n_fast, "events": len(events), "kinesis_records": sum(len(e["Records"]) for e in events),
        "parquet_bytes": bytes_fast, "cpu_seconds": round(cpu_fast, 3), "load_avg_1m": os.getloadavg()[0],
        "machine": f"{platform.machine()} {platform.processor() or ''} py{platform.python_version()}".strip(),
    }))


if __name__ == "__main__":
    main()
