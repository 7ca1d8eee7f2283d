"""Reconciliation: what Kinesis accepted versus what the lake, DynamoDB, the DLQs and the checkpoints hold."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.chaos.workload import (
    _POISON_RE,
    KINESIS_FUNCTIONS,
    POISON_TOKEN,
    Workload,
    payload_id,
    user_payloads,
)

# =============================================================================================== reconciliation


def _row(cur: Any) -> tuple[Any, ...]:
    """The one row of an aggregate query (DuckDB's ``fetchone`` is typed Optional)."""
    row = cur.fetchone()
    assert row is not None
    return tuple(row)


def read_queue(sqs: Any, url: str) -> list[dict]:
    """Every message body in a queue (left in place: received with a long visibility timeout, not deleted)."""
    out: list[dict] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900,
                                   WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return out
        out.extend(json.loads(m["Body"]) for m in msgs)


def lake_record_ids(storage: Any) -> Any:
    """``pyarrow.Table(record_id, lake_table)`` of every row a reader of the lake sees (live files only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sori.lake import live_files
    from sori.records import TABLES

    parts = []
    for table in TABLES:
        for day in storage.partitions(table):
            for obj in live_files(storage, table, day):
                ids = pq.read_table(io.BytesIO(storage.get(obj.key)), columns=["record_id"]).column("record_id")
                parts.append(pa.table({"record_id": ids, "lake_table": pa.array([table] * len(ids), pa.string())}))
    if not parts:
        return pa.table({"record_id": pa.array([], pa.string()), "lake_table": pa.array([], pa.string())})
    return pa.concat_tables(parts)


def blocked_shards(deployed: Mapping[str, Any], checkpoint_path: Path, kinesis: Any) -> list[str]:
    """``function/shard`` of every Kinesis mapping shard with records after its durable checkpoint."""
    from local.mapping import Checkpoints, MappingConfig

    cps = Checkpoints(checkpoint_path)
    out = []
    for m in (MappingConfig.from_dict(x) for x in deployed.get("event_source_mappings", ())):
        if m.is_sqs:
            continue
        stream = {"StreamARN": m.source_arn} if m.source_arn else {"StreamName": m.stream_name}
        for shard in kinesis.list_shards(**stream)["Shards"]:
            seq = cps.get(m.key, shard["ShardId"])
            kw = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": seq} if seq
                  else {"ShardIteratorType": "TRIM_HORIZON"})
            it = kinesis.get_shard_iterator(**stream, ShardId=shard["ShardId"], **kw)["ShardIterator"]
            if kinesis.get_records(ShardIterator=it, Limit=1, **({"StreamARN": m.source_arn} if m.source_arn else {}))[
                    "Records"]:
                out.append(f"{m.function}/{shard['ShardId']}")
    return out


@dataclass
class Produced:
    """What Kinesis accepted, de-aggregated: put counts per record id, top-track newest versions, poison."""

    puts: Counter = field(default_factory=Counter)
    poison: Counter = field(default_factory=Counter)
    top_tracks: dict[tuple[str, str], tuple[str, Any, Any]] = field(default_factory=dict)
    collection_members: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_tap(cls, blobs: Iterable[bytes]) -> Produced:
        from sori.stores.dynamo import version_of

        out = cls()
        for payload in user_payloads(blobs):
            kind, key = payload_id(payload)
            if kind == "poison":
                out.poison[key] += 1
                continue
            out.puts[key] += 1
            rec = json.loads(payload)
            d = rec["data"]
            if rec["type"] == "top_track":
                k = (d["artist_id"], d["track_id"])
                v = (version_of(rec["emitted_at"]), d.get("rank"), d.get("name"))
                if k not in out.top_tracks or v[0] > out.top_tracks[k][0]:
                    out.top_tracks[k] = v
        return out

    @property
    def user_records(self) -> int:
        return sum(self.puts.values()) + sum(self.poison.values())


def reconcile(*, produced: Produced, workload: Workload, deployed: Mapping[str, Any], env: Mapping[str, str],
              checkpoint_path: Path) -> dict:
    """Compare what was produced with the lake, DynamoDB, the DLQs and the checkpoints (see module docstring)."""
    import boto3
    import duckdb
    import pyarrow as pa

    from sori.dlq import is_on_failure_record, payload_of
    from sori.lake import LakeStorage
    from sori.stores.dynamo import deserialize

    # --- lake: DuckDB over the live parquet files, rows per record_id
    lake = lake_record_ids(LakeStorage(env["SORI_BUCKET"], env.get("SORI_LAKE_PREFIX") or "lake"))
    con = duckdb.connect()
    con.register("lake", lake)
    con.register("expected", pa.table({"record_id": pa.array(list(produced.puts), pa.string()),
                                       "puts": pa.array(list(produced.puts.values()), pa.int64())}))
    per_id = "SELECT record_id, count(*) AS n FROM lake GROUP BY record_id"
    landed_lake, lake_lost = _row(con.execute(
        f"SELECT count(l.record_id), count(*) - count(l.record_id) FROM expected e LEFT JOIN ({per_id}) l"
        " USING (record_id)"))
    # rows beyond the number of times the record was put: what the pipeline itself duplicated
    dup_rows, dup_ids = _row(con.execute(
        f"SELECT coalesce(sum(l.n - e.puts), 0), count(*) FROM ({per_id}) l JOIN expected e USING (record_id)"
        " WHERE l.n > e.puts"))
    # rows beyond one per record_id: producers re-sending an id by design (a dedup reader shows one)
    repeat_rows = _row(con.execute(f"SELECT coalesce(sum(n - 1), 0) FROM ({per_id}) WHERE n > 1"))[0]
    unexpected = _row(con.execute(
        f"SELECT count(*) FROM ({per_id}) l WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE e.record_id = l.record_id)"
    ))[0]
    lost_sample = [r[0] for r in con.execute(
        f"SELECT e.record_id FROM expected e LEFT JOIN ({per_id}) l USING (record_id) WHERE l.record_id IS NULL"
        " ORDER BY 1 LIMIT 5").fetchall()]
    dup_sample = [r[0] for r in con.execute(
        f"SELECT record_id FROM ({per_id}) l JOIN expected e USING (record_id) WHERE l.n > e.puts ORDER BY 1 LIMIT 5"
    ).fetchall()]
    repeated = sum(1 for n in produced.puts.values() if n > 1)

    # --- DynamoDB: one item per top-track key, holding the newest record's content
    ddb = boto3.client("dynamodb")
    items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=env["SORI_TOP_TRACKS_TABLE"]):
        for raw in page["Items"]:
            it = deserialize(raw)
            items[(it["artist_id"], it["track_id"])] = (it.get("record_emitted_at"), it.get("rank"), it.get("name"))
    dyn_missing = sum(1 for k in produced.top_tracks if k not in items)
    dyn_wrong = sum(1 for k, v in produced.top_tracks.items() if k in items and items[k] != v)
    dyn_unexpected = sum(1 for k in items if k not in produced.top_tracks)
    landed_dynamo = sum(1 for k, v in produced.top_tracks.items() if items.get(k) == v)

    # --- DLQs: every consumer dead-letters every poison record it reads
    sqs = boto3.client("sqs")
    queues = {m["function"]: m["on_failure_queue_url"] for m in deployed.get("event_source_mappings", ())
              if m.get("function") in KINESIS_FUNCTIONS and m.get("on_failure_queue_url")}
    per_queue, found_all = {}, None
    for fn, url in sorted(queues.items()):
        msgs = read_queue(sqs, url)
        tokens: set[str] = set()
        reasons: Counter = Counter()
        on_failure = other = 0
        for m in msgs:
            if is_on_failure_record(m):
                on_failure += 1
                continue
            hit = _POISON_RE.search(payload_of(m))
            if hit is None:
                other += 1
                continue
            tokens.add(POISON_TOKEN + hit.group(1).decode())
            reasons[m.get("reason", "").split(":")[0][:40]] += 1
        known = tokens & set(produced.poison)
        per_queue[fn] = {"messages": len(msgs), "poison_records": len(known), "on_failure": on_failure,
                         "not_poison": other, "reasons": dict(reasons.most_common(8))}
        found_all = known if found_all is None else found_all & known
    dead_lettered = len(found_all or ())

    # --- checkpoints at the end of every shard
    blocked = blocked_shards(deployed, checkpoint_path, boto3.client("kinesis"))

    synthetic_unsent = len(workload.valid_ids - set(produced.puts)) + len(set(workload.poison) - set(produced.poison))
    lost = int(lake_lost) + dyn_missing + synthetic_unsent
    duplicated = int(dup_rows) + dyn_wrong
    return {
        "produced": produced.user_records, "landed_lake": int(landed_lake), "landed_dynamo": landed_dynamo,
        "lost": lost, "duplicated": duplicated, "dead_lettered": dead_lettered, "poison": len(produced.poison),
        "blocked_shards": len(blocked),
        "details": {
            "valid_records": len(produced.puts), "top_track_keys": len(produced.top_tracks),
            "lake_rows": lake.num_rows, "lake_lost": int(lake_lost), "lake_duplicate_rows": int(dup_rows),
            "lake_duplicate_ids": int(dup_ids), "lake_unexpected_ids": int(unexpected),
            "dynamo_items": len(items), "dynamo_missing": dyn_missing, "dynamo_wrong_content": dyn_wrong,
            "dynamo_unexpected": dyn_unexpected, "never_accepted_by_kinesis": synthetic_unsent,
            "repeated_by_producers": repeated, "lake_rows_beyond_one_per_id": int(repeat_rows), "dlq": per_queue,
            "blocked": blocked,
            "lost_sample": lost_sample, "duplicate_sample": dup_sample,
        },
    }


