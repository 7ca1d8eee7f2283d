"""The injected faults: flaky PutRecords, crashing handlers, a killed runner, a KILLed MySQL session."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

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

    def put_records(self, *, Records: list[dict], **kw: Any) -> dict:
        from botocore.exceptions import ClientError

        with self._lock:
            self.calls += 1
            if self.rng.random() < self.throttle_rate:
                self.throttled_calls += 1
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                             "Message": "Rate exceeded for stream (chaos)"}}, "PutRecords")
            fail = [self.rng.random() < self.rate for _ in Records]
        keep = [r for r, f in zip(Records, fail, strict=False) if not f]
        answers = iter(self.client.put_records(Records=keep, **kw)["Records"] if keep else ())
        out = []
        with self._lock:
            for r, f in zip(Records, fail, strict=False):
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


