"""Fuzz the chatbot webhook with ≥ 10,000 hypothesis-generated payloads (the CI test runs 2,000).

    .venv/bin/python bench/chatbot_fuzz.py [--examples 10000] [--injections 2500]

Same strategies as ``tests/integration/test_chatbot_fuzz.py`` (Kakao payloads with arbitrary, Hangul, jamo,
symbol, 2,000-character, name-with-noise and injection-shaped utterances, odd langs and clientExtras; broken
JSON structures; raw bytes), sent through ``chatbot.handler.lambda_handler`` as API Gateway v2 events over a
self-contained world (MariaDB + moto + Spotify emulator). Counts, never stops at the first problem:
``status_5xx`` and ``invalid_replies`` must be 0, every well-formed Kakao payload must get 200, and
``mysql_unchanged`` says whether the injection-shaped batch left every MySQL table byte-for-byte as it was.

Prints one JSON line: ``payloads``, ``status_200``, ``status_400``, ``status_5xx``, ``invalid_replies``,
``kakao_not_200``, ``injections``, ``mysql_unchanged``, ``seconds``, ``per_payload_ms``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("chatbot_fuzz_strategies",
                                                  REPO / "tests" / "integration" / "test_chatbot_fuzz.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--injections", type=int, default=2_500)
    a = ap.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
    import logging

    logging.disable(logging.WARNING)
    from hypothesis import HealthCheck, given, settings

    import local.emulator
    from local.commands.chatbot import chatbot_world
    from sori.kakao import validate_response

    F = _fuzz_module()
    local.emulator._Handler.disable_nagle_algorithm = True  # see the fuzz test: no 40 ms delayed-ACK stalls
    counts: Counter = Counter()
    problems: list[str] = []

    def record(kind: str, body: bytes) -> None:
        try:
            status, out = F.invoke(body)
        except Exception as e:  # what API Gateway would turn into a 502/500
            counts["status_5xx"] += 1
            problems.append(f"raised {e!r} for {body[:120]!r}")
            return
        counts["payloads"] += 1
        counts[f"status_{status}" if status in (200, 400) else "status_5xx" if status >= 500 else "status_other"] += 1
        if kind == "kakao" and status != 200:
            counts["kakao_not_200"] += 1
            problems.append(f"{status} for a Kakao payload {body[:120]!r}")
        if validate_response(out):  # a 400 is valid Kakao JSON too (issue 14 item 6)
            counts["invalid_replies"] += 1
            problems.append(f"invalid reply {validate_response(out)[:2]} for {body[:120]!r}")

    cfg = settings(database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))
    t0 = time.perf_counter()
    with chatbot_world(secret=F.SECRET, related_for=60) as w:
        settings(cfg, max_examples=a.examples)(given(F.request)(lambda req: record(*req)))()
        before = F.table_digest(w["mysql_url"])
        n0 = counts["payloads"]
        settings(cfg, max_examples=a.injections)(given(F.injection_request)(lambda req: record(*req)))()
        injections = counts["payloads"] - n0
        unchanged = F.table_digest(w["mysql_url"]) == before
    secs = time.perf_counter() - t0
    out = {"payloads": counts["payloads"], "status_200": counts["status_200"], "status_400": counts["status_400"],
           "status_5xx": counts["status_5xx"], "invalid_replies": counts["invalid_replies"],
           "kakao_not_200": counts["kakao_not_200"], "injections": injections, "mysql_unchanged": unchanged,
           "seconds": round(secs, 1), "per_payload_ms": round(secs * 1000 / max(1, counts["payloads"]), 2),
           "problems": problems[:5]}
    print(json.dumps(out, ensure_ascii=False))
    ok = (counts["status_5xx"] == counts["invalid_replies"] == counts["kakao_not_200"] == 0 and unchanged
          and counts["payloads"] >= a.examples)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
