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
put, which the dedup reader and compaction collapse) + DynamoDB items whose content is not the newest record's; ``blocked_shards`` = (mapping, shard)
pairs whose checkpoint did not reach the shard's last record; ``dead_lettered`` = injected poison records found
in every consumer's DLQ.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import os
import random
import re
import shutil
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from sori.records import make_record

#: Every poison payload carries this token (followed by a number), so DLQ messages can be matched to it.
POISON_TOKEN = "chaos-poison-"
_POISON_RE = re.compile(rb"chaos-poison-(\d+)")
POISON_KINDS = ("bad_json", "not_utf8", "unknown_type", "unknown_version", "schema_violation")
KINESIS_FUNCTIONS = ("DynamoSinkFunction", "S3SinkFunction")
#: The emulator has no rate limit unless configured; our own 150/30 s budget would only slow the run down.
LOCAL_BUDGET_PER_30S = "20000"


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


# =============================================================================================== faults


class InjectedCrash(RuntimeError):
    """A consumer invocation that died after writing part of its batch (the mapping sees a function error)."""


class RunnerKilled(BaseException):
    """The mapping runner itself dies mid-batch. A BaseException, so nothing on the way up catches it."""


class FlakyKinesis:
    """A Kinesis client whose PutRecords fails entries the way a hot shard does; everything else passes through.

    Failed entries are not forwarded (Kinesis writes nothing for an entry it reports failed). Every accepted
    entry's data is kept in ``accepted``: the tap the reconciliation counts ``produced`` from.

    >>> flaky = FlakyKinesis(boto3.client("kinesis"), rate=0.1, rng=random.Random(1))   # doctest: +SKIP
    >>> KinesisProducer("sori-records", client=flaky).put(records)                      # doctest: +SKIP
    """

    def __init__(self, client: Any, *, rate: float, throttle_rate: float = 0.0, rng: random.Random):
        self.client, self.rate, self.throttle_rate, self.rng = client, rate, throttle_rate, rng
        self.accepted: list[bytes] = []
        self.calls = self.failed_entries = self.throttled_calls = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_records(self, *, Records: list[dict], **kw: Any) -> dict:  # noqa: N803 - boto3's spelling
        from botocore.exceptions import ClientError

        with self._lock:
            self.calls += 1
            if self.rng.random() < self.throttle_rate:
                self.throttled_calls += 1
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                             "Message": "Rate exceeded for stream (chaos)"}}, "PutRecords")
            fail = [self.rng.random() < self.rate for _ in Records]
        keep = [r for r, f in zip(Records, fail) if not f]
        answers = iter(self.client.put_records(Records=keep, **kw)["Records"] if keep else ())
        out = []
        with self._lock:
            for r, f in zip(Records, fail):
                if f:
                    self.failed_entries += 1
                    out.append({"ErrorCode": "ProvisionedThroughputExceededException",
                                "ErrorMessage": "Rate exceeded for shard (chaos)"})
                    continue
                res = next(answers)
                out.append(res)
                if not res.get("ErrorCode"):
                    self.accepted.append(r["Data"])
        return {"FailedRecordCount": sum(1 for x in out if x.get("ErrorCode")), "Records": out}

    def stats(self) -> dict:
        return {"calls": self.calls, "failed_entries": self.failed_entries, "throttled_calls": self.throttled_calls,
                "accepted_entries": len(self.accepted)}


class KillSwitch:
    """Arms one runner kill: the first multi-record invocation of ``function`` after :meth:`arm`."""

    def __init__(self, function: str = "S3SinkFunction"):
        self.function = function
        self.armed = False
        self.fired = 0

    def arm(self) -> None:
        self.armed = True

    def take(self, function: str, n_records: int) -> bool:
        if self.armed and function == self.function and n_records >= 2:
            self.armed = False
            self.fired += 1
            return True
        return False


class CrashingHandler:
    """Wraps a consumer handler: some invocations write a prefix of their batch for real, then die.

    A crash is chosen with probability ``rate`` per invocation, and forced on the first multi-record
    invocation while fewer than ``min_crashes`` happened (so even a short run exercises the path). The prefix
    is 1..n-1 Kinesis records (a one-record batch is written whole and the response lost).
    """

    def __init__(self, function: str, handler: Callable, *, rate: float, rng: random.Random,
                 min_crashes: int = 1, kill: KillSwitch | None = None):
        self.function, self.handler, self.rate, self.rng = function, handler, rate, rng
        self.min_crashes, self.kill = min_crashes, kill
        self.invocations = self.crashes = 0

    def __call__(self, event: dict, context: Any = None) -> Any:
        self.invocations += 1
        records = event.get("Records") or []
        n = len(records)
        killed = self.kill is not None and self.kill.take(self.function, n)
        crash = killed or self.rng.random() < self.rate or (n >= 2 and self.crashes < self.min_crashes)
        if not crash or n == 0:
            return self.handler(event, context)
        k = self.rng.randint(1, n - 1) if n >= 2 else 1
        self.handler({**event, "Records": records[:k]}, context)
        self.crashes += 1
        what = f"{self.function} died after writing {k} of {n} Kinesis records"
        raise RunnerKilled(what) if killed else InjectedCrash(what)


class Saboteur:
    """Breaks a sink on purpose (the harness's self-test): the reconciliation must then report the damage.

    ``drop``: the first multi-record invocation runs without its last Kinesis record and reports success, so
    the mapping checkpoints past a record nobody wrote. ``duplicate``: after the first invocation, one lake
    object is copied under a second name, as a non-idempotent sink would write it twice.
    """

    def __init__(self, function: str, handler: Callable, kinds: frozenset[str], env: Mapping[str, str]):
        self.function, self.handler, self.kinds, self.env = function, handler, kinds, env
        self.done: list[str] = []

    def __call__(self, event: dict, context: Any = None) -> Any:
        records = event.get("Records") or []
        if "drop" in self.kinds and "drop" not in self.done and len(records) >= 2:
            self.done.append("drop")
            self.handler({**event, "Records": records[:-1]}, context)
            return {"batchItemFailures": []}
        out = self.handler(event, context)
        if "duplicate" in self.kinds and "duplicate" not in self.done and self.function == "S3SinkFunction":
            import boto3

            s3 = boto3.client("s3")
            bucket = self.env["SORI_BUCKET"]
            objs = s3.list_objects_v2(Bucket=bucket, Prefix=(self.env.get("SORI_LAKE_PREFIX") or "lake") + "/")
            keys = [o["Key"] for o in objs.get("Contents", ()) if o["Key"].endswith(".parquet")]
            if keys:
                self.done.append("duplicate")
                s3.copy_object(Bucket=bucket, Key=keys[0].replace(".snappy.parquet", "-again.snappy.parquet"),
                               CopySource={"Bucket": bucket, "Key": keys[0]})
        return out


class _KillingCursor:
    def __init__(self, cursor: Any, after: Callable[[str], None]):
        self._cursor, self._after = cursor, after

    def execute(self, query: str, args: Any = None) -> Any:
        n = self._cursor.execute(query, args)
        self._after(query)
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class KillDuringSwap:
    """A pymysql connection stand-in that gets ``KILL``ed (from another session) mid-swap.

    Right after a statement containing ``trigger`` ran — by default the generation pointer's UPDATE inside
    ``RelatedStore``'s flip transaction, before its COMMIT — the server is told to kill this connection; the
    next statement fails with "Lost connection", exactly what a failover or a network drop does.
    """

    def __init__(self, conn: Any, admin: Any, trigger: str = "UPDATE related_generation"):
        self._conn, self._admin, self.trigger = conn, admin, trigger
        self.killed = False

    def _after(self, query: str) -> None:
        if not self.killed and self.trigger in query:
            self.killed = True
            with self._admin.cursor() as cur:
                cur.execute("KILL CONNECTION %s", (self._conn.thread_id(),))

    def cursor(self, *a: Any) -> _KillingCursor:
        return _KillingCursor(self._conn.cursor(*a), self._after)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


# =============================================================================================== moto gap


from local.moto_patches import moto_transactions_backed_up_per_item  # noqa: E402,F401  (re-export)


# =============================================================================================== records


def poison_payload(kind: str, token: str, emitted_at: str) -> bytes:
    """One poison user record of ``kind`` (see :data:`POISON_KINDS`), carrying ``token``.

    >>> from sori.records import RecordError, validate
    >>> for k in POISON_KINDS:
    ...     try:
    ...         validate(poison_payload(k, "chaos-poison-1", "2026-11-22T00:00:00Z"))
    ...     except RecordError:
    ...         pass
    ...     else:
    ...         print("valid?!", k)
    """
    track = {"artist_id": "a", "track_id": token, "name": "Poison", "rank": 1}
    if kind == "bad_json":
        return ('{"type": "top_track", "v": 1, "id": "' + token + '", "data": {"name": ').encode()
    if kind == "not_utf8":
        return b'{"type": "top_track", "id": "' + token.encode() + b'", "name": "\xff\xfe\xc3"}'
    base = {"type": "top_track", "v": 1, "id": f"top_track:a:{token}:{emitted_at[:10]}", "emitted_at": emitted_at,
            "source": "chaos", "data": track}
    if kind == "unknown_type":
        base.update(type="podcast_episode", id=token)
    elif kind == "unknown_version":
        base.update(v=99)
    elif kind == "schema_violation":
        base["data"] = {**track, "rank": "first"}
    else:
        raise ValueError(f"unknown poison kind {kind!r}")
    return json.dumps(base).encode()


@dataclass
class Workload:
    """The synthetic records: chunks to put (records or ``(pk, payload)`` poison pairs) and what to expect."""

    chunks: list[list[Any]]
    valid_ids: set[str]
    poison: dict[str, str]  # token -> kind

    @property
    def total(self) -> int:
        return len(self.valid_ids) + len(self.poison)


def synthetic_workload(n: int, rng: random.Random, *, day: str, poison_rate: float = 0.001,
                       newer_rate: float = 0.1, chunk: int = 250) -> Workload:
    """``n`` user records, mostly top tracks, chart entries and collection members over many partition keys.

    Every valid record has its own id. ``newer_rate`` of the top tracks are also emitted for the previous day
    (a separate, older record of the same DynamoDB key), half of them *after* the newer one.
    """
    prev = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    artists = [f"chaosartist{i:05d}" for i in range(max(50, n // 20))]
    n_poison = max(len(POISON_KINDS), round(n * poison_rate)) if poison_rate > 0 else 0
    out: list[Any] = []
    valid: set[str] = set()
    poison: dict[str, str] = {}
    next_artist_record = 0

    def at(d: str) -> str:
        return f"{d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"

    def add(rec: dict) -> None:
        out.append(rec)
        valid.add(rec["id"])

    j = 0
    while len(out) < n - n_poison:
        a = rng.choice(artists)
        roll = rng.random()
        if roll < 0.40:
            data = {"artist_id": a, "track_id": f"chaostrack{j:07d}", "name": f"Song {j}", "rank": rng.randint(1, 10),
                    "album": f"Album {j % 97}", "url": f"https://open.spotify.com/track/chaostrack{j:07d}",
                    "artist_name": a, "via": "top-tracks", "popularity": rng.randrange(100)}
            newer = make_record("top_track", data, source="chaos", emitted_at=at(day))
            if rng.random() < newer_rate and len(out) < n - n_poison - 1:
                older = make_record("top_track", {**data, "rank": data["rank"] % 10 + 1, "name": f"Old {j}"},
                                    source="chaos", emitted_at=at(prev))
                for r in ((older, newer) if rng.random() < 0.5 else (newer, older)):
                    add(r)
            else:
                add(newer)
        elif roll < 0.75:
            add(make_record("collection_member", {
                "kind": "playlist", "collection_id": f"chaospl{j // 40:05d}", "artist_id": a,
                "track_id": f"chaosct{j:07d}", "artist_name": a}, source="chaos", emitted_at=at(day)))
        elif roll < 0.95:
            add(make_record("chart_entry", {
                "chart_id": f"chaos-chart-{j // 200:04d}", "country": "kr", "week": prev, "rank": j % 200 + 1,
                "track_id": f"chaosce{j:07d}", "track_name": f"Song {j}", "artist_names": [a], "artist_ids": [a],
                "streams": rng.randrange(10 ** 6)}, source="chaos", emitted_at=at(day)))
        else:
            aid = artists[next_artist_record] if next_artist_record < len(artists) else f"chaosextra{j:07d}"
            next_artist_record += 1
            add(make_record("artist", {"artist_id": aid, "name": f"Artist {aid}", "genres": ["k-pop"],
                                       "popularity": rng.randrange(100)}, source="chaos", emitted_at=at(day)))
        j += 1
    for i in range(n_poison):
        kind = POISON_KINDS[i % len(POISON_KINDS)]
        token = f"{POISON_TOKEN}{i:06d}"
        poison[token] = kind
        out.insert(rng.randrange(len(out) + 1), (rng.choice(artists), poison_payload(kind, token, at(day))))
    chunks = [out[i:i + chunk] for i in range(0, len(out), chunk)]
    return Workload(chunks, valid, poison)


def user_payloads(blobs: Iterable[bytes]) -> Iterable[bytes]:
    """The user records inside Kinesis record data (KPL aggregates unpacked; plain records as they are)."""
    from sori.kinesis.deagg import unpack

    for blob in blobs:
        yield from unpack(blob).payloads


def payload_id(payload: bytes) -> tuple[str, str]:
    """``("poison", token)`` or ``("valid", record id)`` of one user record payload."""
    m = _POISON_RE.search(payload)
    if m:
        return "poison", POISON_TOKEN + m.group(1).decode()
    return "valid", json.loads(payload)["id"]


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
            self.stats.update({k: v for k, v in vars(st).items()})
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
    week = chart_week(dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=7))
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
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
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
            RelatedStore(swap).write_generation(full, built_at=now)
        except Exception as e:  # noqa: BLE001 - the lost connection is the point
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


# =============================================================================================== reconciliation


def read_queue(sqs: Any, url: str) -> list[dict]:
    """Every message body in a queue (left in place: received with a long visibility timeout, not deleted)."""
    out: list[dict] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900,
                                   WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return out
        out.extend(json.loads(m["Body"]) for m in msgs)


def lake_record_ids(storage: Any) -> "Any":
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
    def from_tap(cls, blobs: Iterable[bytes]) -> "Produced":
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
    landed_lake, lake_lost = con.execute(
        f"SELECT count(l.record_id), count(*) - count(l.record_id) FROM expected e LEFT JOIN ({per_id}) l"
        " USING (record_id)").fetchone()
    # rows beyond the number of times the record was put: what the pipeline itself duplicated
    dup_rows, dup_ids = con.execute(
        f"SELECT coalesce(sum(l.n - e.puts), 0), count(*) FROM ({per_id}) l JOIN expected e USING (record_id)"
        " WHERE l.n > e.puts").fetchone()
    # rows beyond one per record_id: producers re-sending an id by design (a dedup reader shows one)
    repeat_rows = con.execute(f"SELECT coalesce(sum(n - 1), 0) FROM ({per_id}) WHERE n > 1").fetchone()[0]
    unexpected = con.execute(
        f"SELECT count(*) FROM ({per_id}) l WHERE NOT EXISTS (SELECT 1 FROM expected e WHERE e.record_id = l.record_id)"
    ).fetchone()[0]
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
            "repeated_by_producers": repeated, "lake_rows_beyond_one_per_id": int(repeat_rows), "dlq": per_queue, "blocked": blocked,
            "lost_sample": lost_sample, "duplicate_sample": dup_sample,
        },
    }


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
            today = dt.datetime.now(dt.timezone.utc).date().isoformat()
            workload = synthetic_workload(cfg.records, rng, day=today, poison_rate=cfg.poison_rate,
                                          newer_rate=cfg.newer_rate, chunk=cfg.chunk)
            phases: dict[str, Any] = {}
            if cfg.spotify:
                say("Spotify producers under 429/5xx bursts")
                phases["spotify"] = spotify_phase(info, flaky, producer, cfg)

            for fn in KINESIS_FUNCTIONS:
                _cold_start(deployed["functions"][fn]["handler"])
            kill = KillSwitch("S3SinkFunction")
            handlers = {fn: CrashingHandler(fn, import_handler(deployed["functions"][fn]["handler"]),
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
                             **{fn: {"invocations": h.invocations, "crashes": h.crashes} for fn, h in crashing.items()}},
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
