"""``run_chaos``: the consumers under fault, the Spotify and related-swap phases, the report."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import shutil
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.chaos.faults import (
    CrashingHandler,
    FlakyKinesis,
    KillDuringSwap,
    KillSwitch,
    RunnerKilled,
    Saboteur,
)
from local.chaos.reconcile import Produced, reconcile
from local.chaos.workload import (
    KINESIS_FUNCTIONS,
    LOCAL_BUDGET_PER_30S,
    synthetic_workload,
    user_payloads,
)
from local.moto_patches import moto_transactions_backed_up_per_item


@dataclass
class ChaosConfig:
    """What to inject. Rates are probabilities; ``seed`` makes a run repeatable (up to thread timing)."""

    records: int = 20_000
    seed: int = 7
    put_failure_rate: float = 0.10  # PutRecords entries failed with ProvisionedThroughputExceededException
    put_throttle_rate: float = 0.02  # whole PutRecords calls throttled
    crash_rate: float = 0.05  # consumer invocations that crash after writing part of their batch
    poison_rate: float = 0.001
    newer_rate: float = 0.10  # top tracks also emitted for the previous day (DynamoDB: newer must win)
    chunk: int = 250  # user records per KinesisProducer.put call (one producer "emit")
    spotify: bool = True  # run the real charts + catalog producers under 429/5xx bursts
    spotify_countries: tuple[str, ...] = ("kr", "jp", "us")
    spotify_artists: int = 20
    burst: int = 3  # requests refused per burst (a 429 burst during charts, a 5xx burst during catalog)
    related_swap: bool = True
    kill_runner: bool = True
    mode: str = "extended"
    mysql_server: str | None = None  # a MariaDB server URL; default: SORI_MYSQL_URL or a throwaway one
    drain_timeout: float = 900.0
    #: For the harness's own self-test only: ``"drop"`` makes the DynamoDB sink silently skip a record,
    #: ``"duplicate"`` writes one lake object twice under another name. A run with either must fail.
    sabotage: frozenset[str] = frozenset()




# =============================================================================================== consumers


class Consumers:
    """The Kinesis mapping runner with crash-injecting handlers, restarted from its checkpoint when killed."""

    def __init__(self, deployed: Mapping[str, Any], handlers: Mapping[str, Callable], checkpoint_path: Path):
        self.deployed, self.handlers, self.checkpoint_path = deployed, handlers, checkpoint_path
        self.restarts = 0
        self.kills: list[dict] = []
        self.errors: list[str] = []
        self.stats: Counter = Counter()
        self.runner = self._new()

    def _new(self):
        from local.mapping import MappingRunner

        return MappingRunner(self.deployed, self.handlers, checkpoint_path=self.checkpoint_path,
                             poll_interval_s=0.05)

    def _restart(self, why: RunnerKilled) -> None:
        from local.mapping import Checkpoints

        self._collect()
        self.kills.append({"reason": str(why), "checkpoints": Checkpoints(self.checkpoint_path).data})
        self.restarts += 1
        self.runner = self._new()  # everything in memory is gone; only the checkpoint file carries over

    def _collect(self) -> None:
        for st in self.runner.stats.values():
            self.stats.update(dict(vars(st).items()))
        self.errors.extend(self.runner.errors)

    def consume_until(self, done: threading.Event) -> None:
        """Poll (honouring batching windows) until ``done`` is set, surviving kills."""
        while not done.is_set():
            try:
                if self.runner.poll_once() == 0:
                    done.wait(0.05)
            except RunnerKilled as e:
                self._restart(e)

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                return self.runner.drain(timeout=left)
            except RunnerKilled as e:
                self._restart(e)

    def finish(self) -> dict:
        self._collect()
        self.runner = self._new()
        return dict(self.stats)


# =============================================================================================== phases


def _emulator(url: str, **config: Any) -> dict:
    import requests

    return requests.post(f"{url}/_emulator/config", json=config, timeout=10).json()


def _emulator_stats(url: str) -> dict:
    import requests

    return requests.get(f"{url}/_emulator/stats", timeout=10).json()


def spotify_phase(info: Mapping[str, Any], flaky: FlakyKinesis, producer: Callable[[], Any],
                  cfg: ChaosConfig) -> dict:
    """The real charts producer, then the catalog producer over the charted artists, under 429/5xx bursts.

    Their records go through the same failing Kinesis client as everything else and join the reconciliation.
    """
    from producers.catalog import run_catalog
    from producers.charts import run_charts
    from producers.runtime import open_run
    from sori.charts import chart_week
    from sori.settings import Settings

    url = info["spotify"]
    settings = Settings.from_env({**os.environ, "SORI_SPOTIFY_BUDGET_PER_30S": LOCAL_BUDGET_PER_30S})
    before = _emulator_stats(url).get("total", 0)
    week = chart_week(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7))
    start = len(flaky.accepted)
    # each burst fits the producers' retry budget (sori.spotify.client.Retrier: 6 attempts per request)
    _emulator(url, burst_429={"count": cfg.burst, "retry_after": 1})
    charts = run_charts({"countries": list(cfg.spotify_countries), "week": week},
                        open_run("charts", settings, producer=producer()), None)
    charted: list[str] = []
    for payload in user_payloads(flaky.accepted[start:]):
        rec = json.loads(payload)
        if rec.get("type") == "chart_entry":
            charted.extend(a for a in rec["data"].get("artist_ids") or () if a not in charted)
    ids = charted[:cfg.spotify_artists]
    _emulator(url, burst_5xx={"count": cfg.burst, "status": 503})
    catalog = run_catalog({"artist_ids": ids}, open_run("catalog", settings, producer=producer()), None)
    _emulator(url, burst_429={"count": 0}, burst_5xx={"count": 0})
    finished = charts.get("stopped") is None and catalog.get("stopped") is None
    return {"ok": finished and bool(charts.get("records")) and bool(catalog.get("records")), "week": week,
            "charts": {k: charts.get(k) for k in ("records", "stopped", "calls")},
            "catalog": {k: catalog.get(k) for k in ("records", "stopped", "calls", "artists")},
            "refused": {"429": cfg.burst, "5xx": cfg.burst},
            "spotify_requests": _emulator_stats(url).get("total", 0) - before}


def cooccurrence_rows(members: Iterable[tuple[str, str]], k: int = 5) -> list[dict]:
    """Related-artist rows from ``(collection_id, artist_id)`` pairs: artists sharing most collections first.

    >>> [(r["artist_id"], r["related_id"], r["rank"]) for r in cooccurrence_rows([("p", "a"), ("p", "b")])]
    [('a', 'b', 1), ('b', 'a', 1)]
    """
    by_collection: dict[str, set[str]] = defaultdict(set)
    for collection, artist in members:
        by_collection[collection].add(artist)
    counts: dict[str, Counter] = defaultdict(Counter)
    for artists in by_collection.values():
        for a in artists:
            for b in artists:
                if a != b:
                    counts[a][b] += 1
    return [{"artist_id": a, "related_id": b, "rank": r + 1, "score": float(c), "reason": {"shared_collections": c}}
            for a in sorted(counts)
            for r, (b, c) in enumerate(sorted(counts[a].items(), key=lambda x: (-x[1], x[0]))[:k])]


def related_swap_phase(mysql_url: str, members: list[tuple[str, str]]) -> dict:
    """Publish a generation, then kill the connection in the middle of publishing the next one.

    Passes when the kill happened, the interrupted build raised, readers kept getting the previous generation
    unchanged, and a retry (the next run) published the new generation.
    """
    from sori.stores.mysql import RelatedStore, open_connection

    half = cooccurrence_rows(members[: len(members) // 2])
    full = cooccurrence_rows(members)
    if not half or not full:
        return {"skipped": "no co-occurring artists"}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    conns = [open_connection(mysql_url) for _ in range(4)]
    builder, admin, reader, retry = conns
    try:
        first = RelatedStore(builder).write_generation(half, built_at=now - dt.timedelta(days=1))
        sample = sorted({r["artist_id"] for r in half})[:50]
        served = RelatedStore(reader)
        before = {a: [x["related_id"] for x in served.current(a)] for a in sample}
        victim = open_connection(mysql_url)
        conns.append(victim)
        swap = KillDuringSwap(victim, admin)
        error = None
        try:
            RelatedStore(swap).write_generation(full, built_at=now)  # type: ignore[arg-type]  # a pymysql proxy
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        during = served.current_generation()
        unchanged = all([x["related_id"] for x in served.current(a)] == before[a] for a in sample)
        second = RelatedStore(retry).write_generation(full, built_at=now)
        want = defaultdict(list)
        for r in full:
            want[r["artist_id"]].append(r["related_id"])
        published = served.current_generation() == second and all(
            [x["related_id"] for x in served.current(a)] == want[a] for a in sorted(want)[:50])
        ok = swap.killed and error is not None and during == first and unchanged and published
        return {"ok": ok, "killed": swap.killed, "error": error, "served_during_crash": during,
                "previous_generation": first, "previous_unchanged": unchanged, "retried_generation": second,
                "retry_published": published, "rows": len(full)}
    finally:
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()




# =============================================================================================== the run


@dataclass
class ChaosReport:
    produced: int
    landed_lake: int
    landed_dynamo: int
    lost: int
    duplicated: int
    dead_lettered: int
    poison: int
    blocked_shards: int
    faults: dict
    details: dict
    seconds: float
    records_requested: int
    seed: int

    @property
    def faults_missing(self) -> list[str]:
        """Configured faults that did not actually happen (a chaos run without them proves nothing)."""
        return [k for k, v in self.faults.items() if isinstance(v, dict) and v.get("required") and not v.get("fired")]

    @property
    def ok(self) -> bool:
        unexpected = self.details.get("lake_unexpected_ids", 0) + self.details.get("dynamo_unexpected", 0)
        phases_ok = all(v.get("ok", True) is not False for v in self.faults.values() if isinstance(v, dict))
        return (self.lost == 0 and self.duplicated == 0 and self.blocked_shards == 0 and unexpected == 0
                and self.dead_lettered == self.poison and not self.faults_missing and phases_ok
                and self.details.get("drained", False))

    def summary(self) -> dict:
        """The headline numbers (what ``sori chaos --json`` prints first)."""
        return {"produced": self.produced, "landed_lake": self.landed_lake, "landed_dynamo": self.landed_dynamo,
                "lost": self.lost, "duplicated": self.duplicated, "dead_lettered": self.dead_lettered,
                "poison": self.poison, "blocked_shards": self.blocked_shards, "ok": self.ok,
                "seconds": round(self.seconds, 1)}

    def as_dict(self) -> dict:
        out = {**self.summary(), "records_requested": self.records_requested, "seed": self.seed,
               "faults_missing": self.faults_missing, "faults": self.faults, "details": self.details}
        return out


def _redrive_on_failure(deployed: Mapping[str, Any], stream: str) -> int:
    """Redrive the mappings' on-failure records (batches that exhausted retries), as the runbook says."""
    from sori.dlq import redrive, stream_sender

    n = 0
    for m in deployed.get("event_source_mappings", ()):
        if m.get("function") in KINESIS_FUNCTIONS and m.get("on_failure_queue_url"):
            n += redrive(m["on_failure_queue_url"], stream_sender(stream)).redriven
    return n


def _cold_start(dotted_handler: str) -> None:
    """A fresh deployment gets fresh Lambda containers: drop what the handler module cached per container
    (``functools`` caches holding adapters and clients bound to an earlier stack's endpoint)."""
    import importlib

    module = importlib.import_module(dotted_handler.rpartition(".")[0])
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def _reset_moto() -> None:
    """Empty every moto backend of this process (what ``POST /moto-api/reset`` does)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


@contextlib.contextmanager
def _preserved_environ():
    """The local stack points ``os.environ`` at itself; put it back afterwards (a test session shares it)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        with contextlib.suppress(Exception):
            from sori.settings import clear_secret_cache, get_settings

            get_settings.cache_clear()
            clear_secret_cache()


def run_chaos(cfg: ChaosConfig, say: Callable[[str], None] = lambda s: None) -> ChaosReport:
    """Start a private local stack, run every fault, reconcile, tear everything down; return the report."""
    from local import mariadb
    from local.mapping import import_handler
    from local.stack import LocalStack, sori_home
    from sori.kinesis.producer import KinesisProducer

    run_id = uuid.uuid4().hex[:10]
    home = sori_home() / "chaos" / run_id
    checkpoint = home / "kinesis.json"
    t0 = time.monotonic()
    with _preserved_environ(), moto_transactions_backed_up_per_item():
        stack = LocalStack(mode=cfg.mode, consume=False, mysql_server=cfg.mysql_server,
                           database=f"sori_chaos_{run_id}")
        if not hasattr(stack, "_control"):  # LocalStack.stop() after a failed start expects it
            stack._control = None
        _reset_moto()  # in-process moto servers share one global state: start from an empty cloud
        try:
            say("starting the local stack (moto + template, MariaDB, Spotify emulator)")
            info = stack.start()
            deployed, env = info["deployed"], info["env"]
            stream = env["SORI_STREAM_NAME"]
            import boto3

            flaky = FlakyKinesis(boto3.client("kinesis"), rate=cfg.put_failure_rate,
                                 throttle_rate=cfg.put_throttle_rate, rng=random.Random(cfg.seed * 7 + 1))
            jitter = random.Random(cfg.seed * 7 + 2)

            def producer() -> KinesisProducer:
                # more attempts and a shorter backoff than production: 10 % failing entries on every call
                return KinesisProducer(stream, client=flaky, max_attempts=12, base_delay=0.005, max_delay=0.2,
                                       rng=jitter)

            rng = random.Random(cfg.seed)
            today = dt.datetime.now(dt.UTC).date().isoformat()
            workload = synthetic_workload(cfg.records, rng, day=today, poison_rate=cfg.poison_rate,
                                          newer_rate=cfg.newer_rate, chunk=cfg.chunk)
            phases: dict[str, Any] = {}
            if cfg.spotify:
                say("Spotify producers under 429/5xx bursts")
                phases["spotify"] = spotify_phase(info, flaky, producer, cfg)

            for fn in KINESIS_FUNCTIONS:
                _cold_start(deployed["functions"][fn]["handler"])
            kill = KillSwitch("S3SinkFunction")
            handlers: dict[str, Any] = {fn: CrashingHandler(fn, import_handler(deployed["functions"][fn]["handler"]),
                                            rate=cfg.crash_rate, rng=random.Random(cfg.seed * 7 + 3 + i),
                                            min_crashes=1 if cfg.crash_rate > 0 else 0,
                                            kill=kill if cfg.kill_runner else None)
                        for i, fn in enumerate(KINESIS_FUNCTIONS)}
            crashing = dict(handlers)
            if cfg.sabotage:
                kinds = {"DynamoSinkFunction": frozenset({"drop"}), "S3SinkFunction": frozenset({"duplicate"})}
                handlers = {fn: Saboteur(fn, h, cfg.sabotage & kinds[fn], env) for fn, h in handlers.items()}
            consumers = Consumers(deployed, handlers, checkpoint)
            done = threading.Event()
            thread = threading.Thread(target=consumers.consume_until, args=(done,), name="chaos-consumers",
                                      daemon=True)
            thread.start()
            say(f"producing {workload.total} records in {len(workload.chunks)} puts while the consumers run")
            try:
                p = producer()
                for i, chunk in enumerate(workload.chunks):
                    if cfg.kill_runner and i == len(workload.chunks) // 2:
                        kill.arm()
                    p.put(chunk)
            finally:
                done.set()
                thread.join()
            say("draining the consumers")
            drained = consumers.drain(cfg.drain_timeout)
            redriven = _redrive_on_failure(deployed, stream)
            if redriven:
                drained = consumers.drain(cfg.drain_timeout) and drained
            runner = consumers.finish()

            if cfg.related_swap:
                say("related swap with a MySQL connection kill")
                members = [(r["data"]["collection_id"], r["data"]["artist_id"]) for c in workload.chunks for r in c
                           if isinstance(r, dict) and r["type"] == "collection_member"]
                phases["related_swap"] = related_swap_phase(env["SORI_MYSQL_URL"], members)

            say("reconciling lake, DynamoDB, DLQs and checkpoints")
            produced = Produced.from_tap(flaky.accepted)
            rec = reconcile(produced=produced, workload=workload, deployed=deployed, env=env,
                            checkpoint_path=checkpoint)
        finally:
            _reset_moto()  # leave nothing behind for whatever shares this process's moto next
            stack.stop()
            if "info" in locals():
                with contextlib.suppress(Exception):
                    mariadb.drop_database(info["mysql"])
            shutil.rmtree(home, ignore_errors=True)

    spotify = phases.get("spotify") or {}
    faults = {
        "put_records": {"required": cfg.put_failure_rate > 0, "fired": flaky.failed_entries > 0, **flaky.stats()},
        "consumer_crashes": {"required": cfg.crash_rate > 0, "fired": sum(h.crashes for h in crashing.values()) > 0,
                             **{fn: {"invocations": h.invocations, "crashes": h.crashes}
                                for fn, h in crashing.items()}},
        "poison": {"required": cfg.poison_rate > 0, "fired": len(workload.poison) > 0, "injected": len(workload.poison),
                   "kinds": dict(Counter(workload.poison.values()))},
        "spotify_bursts": {"required": cfg.spotify, "fired": bool(spotify), **spotify},
        "mysql_kill_during_swap": {"required": cfg.related_swap,
                                   "fired": bool(phases.get("related_swap", {}).get("killed")),
                                   **phases.get("related_swap", {})},
        "sabotage": {"required": bool(cfg.sabotage), "fired": bool(cfg.sabotage), "kinds": sorted(cfg.sabotage),
                     "done": sorted(x for h in handlers.values() for x in getattr(h, "done", ()))},
        "runner_kill": {"required": cfg.kill_runner, "fired": consumers.restarts > 0, "restarts": consumers.restarts,
                        "kills": [k["reason"] for k in consumers.kills]},
    }
    details = {**rec["details"], "drained": drained, "redriven": redriven, "runner": runner,
               "runner_errors": consumers.errors[-5:]}
    if not drained:
        details["not_drained"] = True
    return ChaosReport(produced=rec["produced"], landed_lake=rec["landed_lake"], landed_dynamo=rec["landed_dynamo"],
                       lost=rec["lost"], duplicated=rec["duplicated"], dead_lettered=rec["dead_lettered"],
                       poison=rec["poison"], blocked_shards=rec["blocked_shards"], faults=faults, details=details,
                       seconds=time.monotonic() - t0, records_requested=cfg.records, seed=cfg.seed)
