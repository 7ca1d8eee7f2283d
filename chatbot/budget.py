"""The request's time budget: every external step (MySQL, DynamoDB, Spotify, SQS) runs against what is left.

Kakao gives a skill 5 s; the chatbot answers within ``Settings.chatbot_deadline_ms`` (3 s by default, fewer if
the Lambda itself has less left). Steps run on a small process-wide thread pool so a stuck call cannot hold
the answer: :meth:`Deadline.run` waits at most the time left (or the step's own cap) and then raises
:class:`DeadlineExceeded`; the caller answers gracefully instead of letting Kakao time out. The pool's threads
are long-lived, so each keeps its own MySQL connection (``sori.stores.mysql.connect`` caches per thread) and
boto3/spotipy clients are shared across invocations.

>>> d = Deadline(1.0)
>>> d.run("add", lambda a, b: a + b, 1, 2)
3
>>> Deadline(0.0).expired
True
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

__all__ = ["POOL_SIZE", "Deadline", "DeadlineExceeded", "executor"]

POOL_SIZE = 8
_pools: dict[str, ThreadPoolExecutor] = {}
_pool_lock = threading.Lock()


def executor(name: str = "stores") -> ThreadPoolExecutor:
    """A process-wide pool (created on first use, reused by every invocation). Stores (MySQL, DynamoDB, SQS)
    and Spotify get separate pools, so a slow search that outlives its request can never starve the
    store lookups of the next one."""
    pool = _pools.get(name)
    if pool is None:
        with _pool_lock:
            pool = _pools.get(name)
            if pool is None:
                pool = _pools[name] = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix=f"chatbot-{name}")
    return pool


class DeadlineExceeded(TimeoutError):
    """``step`` did not finish within the request's budget."""

    def __init__(self, step: str):
        super().__init__(f"deadline exceeded during {step}")
        self.step = step


class Deadline:
    """``seconds`` from now. ``clock`` is injectable for tests."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.started = clock()
        self.until = self.started + max(0.0, seconds)
        self.steps: dict[str, float] = {}  # step -> seconds spent (for logs)
        self.errors: dict[str, str] = {}  # "step:key" -> error of a gathered call that failed (for logs)

    def remaining(self) -> float:
        return max(0.0, self.until - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def _limit(self, cap: float | None) -> float:
        left = self.remaining()
        return left if cap is None else min(left, cap)

    def run(self, step: str, fn: Callable[..., Any], *args: Any, cap: float | None = None, pool: str = "stores",
            **kw: Any) -> Any:
        """``fn(*args, **kw)`` on the pool, waiting at most the time left (and ``cap``). Its exception, if any,
        is re-raised here; running out of time raises :class:`DeadlineExceeded`."""
        limit = self._limit(cap)
        if limit <= 0:
            raise DeadlineExceeded(step)
        t0 = self.clock()
        fut = executor(pool).submit(fn, *args, **kw)
        try:
            return fut.result(timeout=limit)
        except TimeoutError:
            fut.cancel()
            raise DeadlineExceeded(step) from None
        finally:
            self.steps[step] = self.steps.get(step, 0.0) + (self.clock() - t0)

    def gather(self, step: str, calls: Mapping[Any, tuple[Any, ...]], *, cap: float | None = None) -> dict[Any, Any]:
        """Run ``{key: (fn, *args)}`` concurrently; returns ``{key: result}`` for those that finished in time
        (a call that raised or ran late is left out — the reply degrades for that part only). Raises
        :class:`DeadlineExceeded` only when nothing finished at all and time is up."""
        if not calls:
            return {}
        limit = self._limit(cap)
        if limit <= 0:
            raise DeadlineExceeded(step)
        t0 = self.clock()
        futs: dict[Future[Any], Any] = {executor().submit(c[0], *c[1:]): k for k, c in calls.items()}
        done, pending = wait(futs, timeout=limit, return_when="ALL_COMPLETED")
        for f in pending:
            f.cancel()
        self.steps[step] = self.steps.get(step, 0.0) + (self.clock() - t0)
        out = {}
        for f in done:
            if f.exception() is None:
                out[futs[f]] = f.result()
            else:
                self.errors[f"{step}:{futs[f]}"] = repr(f.exception())
        for f in pending:
            self.errors[f"{step}:{futs[f]}"] = "late"
        if not out and pending:
            raise DeadlineExceeded(step)
        return out

