"""Chatbot latency against the local HTTP endpoint, and the handler module's cold import time.

    .venv/bin/python bench/chatbot_latency.py [--rate 50] [--seconds 30]

A child process serves the chatbot (``local.webhook.WebhookServer`` → ``chatbot.handler.lambda_handler``) over a
self-contained world (``local.commands.chatbot.chatbot_world``: MariaDB with the emulator's ~10k artists,
curated aliases and one related-artist generation; moto DynamoDB top tracks; the Spotify emulator). This process
fires Kakao skill payloads about *known artists with related artists* (names, Hangul aliases, sentences) at
``--rate`` requests/s, open loop (a slow answer never delays the next send), for ``--seconds``, one new HTTP
connection per request (as API Gateway would open towards a fresh target), and reports p50/p99 of the
request→reply time. Before the timed window every utterance is asked once (a warm container: name index loaded,
top tracks cached) — that first request's time is reported too (``first_request_ms``).

``cold_import_ms``: median over fresh interpreters of ``import chatbot.handler`` (what a Lambda cold start pays
before the handler runs; the adapters it needs later load on first use).

Prints one JSON line: ``p50_ms``, ``p99_ms``, ``cold_import_ms`` (+ details). Goals: p99 ≤ 100 ms, import ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ASKS = ["BLACKPINK", "BTS 같은 가수 추천해줘", "샤이니", "twice", "Red Velvet 같은 가수", "방탄소년단 노래 추천해줘",
        "ITZY랑 비슷한 가수", "artists like Stray Kids", "마마무", "(G)I-DLE", "SEVENTEEN", "Billie Eilish",
        "Ariana Grande 같은 가수", "Post Malone", "Dua Lipa"]


def serve() -> None:
    """Child: the world + webhook; prints {"url", "secret"} and serves until stdin closes."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    from local.commands.chatbot import chatbot_world

    with chatbot_world(webhook=True, related_for=100) as w:
        print(json.dumps({"url": w["url"], "secret": w["secret"]}), flush=True)
        sys.stdin.read()


def cold_import_ms(runs: int = 7) -> dict:
    code = ("import time; t = time.perf_counter(); import chatbot.handler; "
            "print((time.perf_counter() - t) * 1000)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "0"})
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return {"cold_import_ms": round(statistics.median(times), 1), "cold_import_min_ms": round(min(times), 1),
            "cold_import_max_ms": round(max(times), 1)}


def post(url: str, secret: str, utterance: str) -> tuple[int, float, str]:
    from local.commands.chatbot import skill_payload

    body = json.dumps(skill_payload(utterance)).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "X-Skill-Secret": secret})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    ms = (time.perf_counter() - t0) * 1000
    kind = ""
    if status == 200:
        outs = json.loads(raw)["template"]["outputs"]
        kind = next(iter(outs[-1]))
    return status, ms, kind


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve()
        return 0

    imports = cold_import_ms()
    child = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=REPO, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None and child.stdin is not None  # both are PIPEs
    try:
        info = json.loads(child.stdout.readline())
        url, secret = info["url"], info["secret"]
        first = post(url, secret, ASKS[0])
        warm = [post(url, secret, u) for u in ASKS]
        kinds = {u: k for u, (_, _, k) in zip(ASKS, warm, strict=False)}
        lat: list[float] = []
        errors = 0
        lock = threading.Lock()
        interval = 1.0 / a.rate
        n = int(a.rate * a.seconds)

        failed = 0

        def one(i: int) -> None:
            nonlocal errors, failed
            t0 = time.perf_counter()
            try:
                status, ms, kind = post(url, secret, ASKS[i % len(ASKS)])
            except Exception:  # connection refused / timed out: counted, and its time is kept
                with lock:
                    failed += 1
                    lat.append((time.perf_counter() - t0) * 1000)
                return
            with lock:
                lat.append(ms)
                errors += status != 200 or kind != "carousel"

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i in range(n):
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(one, i)
        wall = time.perf_counter() - start
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    out = {"p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1), **imports,
           "max_ms": round(max(lat), 1), "mean_ms": round(statistics.mean(lat), 1), "requests": len(lat),
           "achieved_rps": round(len(lat) / wall, 1), "rate": a.rate, "seconds": a.seconds,
           "not_carousel_or_error": errors, "failed": failed, "load_avg_1m": round(os.getloadavg()[0], 2),
           "first_request_ms": round(first[1], 1),
           "warm_kinds": sorted(set(kinds.values())), "cpus": os.cpu_count()}
    print(json.dumps(out))
    return 0 if errors == failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
