"""``sori chaos``: push N records through the whole local flow while injecting faults, then reconcile.

The run uses the real pieces in-process: :class:`local.stack.LocalStack` (moto with ``template.yaml`` deployed,
the Spotify emulator, MariaDB) with its own consumers off, the real :class:`sori.kinesis.producer.KinesisProducer`,
the real consumer handlers driven by a :class:`local.mapping.MappingRunner` configured from the template, and
the real :class:`sori.stores.mysql.RelatedStore`. Faults are injected from outside, by wrapping what those
pieces are given (nothing in ``sori/``, ``producers/`` or ``consumers/`` knows about chaos)::

    report = run_chaos(ChaosConfig(records=20_000, seed=7))
    report.ok, report.summary()   # lost = duplicated = blocked_shards = 0 and dead_lettered = poison

Faults
------
* **PutRecords partial failures** — :class:`FlakyKinesis` wraps the producer's Kinesis client: ~10 % of the
  entries of every call come back ``ProvisionedThroughputExceededException`` and are *not* written (as Kinesis
  does), and ~2 % of calls are throttled whole.
* **Consumer crashes mid-write** — :class:`CrashingHandler` wraps each consumer handler: in ~5 % of invocations
  (and at least once per function) it runs the real handler over a prefix of the batch — so part of the batch
  really lands in S3 / DynamoDB / the DLQ — then raises, as a Lambda that dies mid-batch does.
* **Poison** — ~0.1 % of the records are bad JSON, not UTF-8, an unknown type, an unknown version or a schema
  violation (:func:`poison_payload`); each carries a token so the DLQs can be reconciled against them.
* **Spotify 429/5xx bursts** — the emulator's control plane (``POST /_emulator/config``) refuses requests while
  the real charts and catalog producers run (:func:`spotify_phase`); their records join the reconciliation.
* **MySQL connection drop during the related swap** — :class:`KillDuringSwap` wraps the builder's connection and
  ``KILL``s it from a second session right after the generation pointer was updated, before the commit
  (:func:`related_swap_phase`); the previous generation must still be served, and a retry must publish.
* **Runner kill mid-batch** — the first multi-record S3-sink invocation writes part of its batch, then raises
  :class:`RunnerKilled` (a ``BaseException``: nothing in the runner catches it), which unwinds the runner
  exactly like ``kill -9`` would — in-memory buffers and pending retries gone, only the durable checkpoint file
  left. A new runner is started from that checkpoint (:class:`Consumers`).

Reconciliation (:func:`reconcile`)
----------------------------------
``produced`` is what Kinesis accepted (a tap on the wrapped client, de-aggregated), cross-checked against what
the synthetic generator asked the producer to send. The lake is read the way a reader reads it — the live files
of every partition (compaction manifests honoured) — and DuckDB counts rows per ``record_id``; DynamoDB is
scanned and every top-track key compared with the newest record for it; both DLQs are read and their poison
messages matched to the injected poison; each mapping's durable checkpoint is compared with the end of each
shard. ``lost`` = valid records missing from a sink; ``duplicated`` = lake rows beyond the number of times a
record was put (the pipeline's own duplicates; a producer that re-sends an id — the charts and catalog producers
both emit the day's audio features of a shared track — is reported as ``repeated_by_producers``, one row per
put, which the dedup reader and compaction collapse) + DynamoDB items whose content is not the newest record's;
``blocked_shards`` = (mapping, shard)
pairs whose checkpoint did not reach the shard's last record; ``dead_lettered`` = injected poison records found
in every consumer's DLQ.
"""
from __future__ import annotations

from local.chaos.faults import (
                                CrashingHandler,
                                FlakyKinesis,
                                InjectedCrash,
                                KillDuringSwap,
                                KillSwitch,
                                RunnerKilled,
                                Saboteur,
)
from local.chaos.reconcile import (
                                Produced,
                                blocked_shards,
                                lake_record_ids,
                                read_queue,
                                reconcile,
)
from local.chaos.runner import (
                                ChaosConfig,
                                ChaosReport,
                                Consumers,
                                related_swap_phase,
                                run_chaos,
                                spotify_phase,
)
from local.chaos.workload import (
                                KINESIS_FUNCTIONS,
                                POISON_KINDS,
                                POISON_TOKEN,
                                Workload,
                                payload_id,
                                poison_payload,
                                synthetic_workload,
                                user_payloads,
)
from local.moto_patches import moto_transactions_backed_up_per_item

__all__ = [
    "KINESIS_FUNCTIONS", "POISON_KINDS", "POISON_TOKEN", "ChaosConfig", "ChaosReport", "Consumers",
    "CrashingHandler", "FlakyKinesis", "InjectedCrash", "KillDuringSwap", "KillSwitch", "Produced", "RunnerKilled",
    "Saboteur", "Workload", "blocked_shards", "lake_record_ids", "moto_transactions_backed_up_per_item",
    "payload_id", "poison_payload", "read_queue", "reconcile", "related_swap_phase", "run_chaos", "spotify_phase",
    "synthetic_workload", "user_payloads",
]
