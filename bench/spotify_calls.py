"""Spotify calls per artist for a nightly refresh of the whole catalog, per mode, from the emulator's counters.

Runs the catalog producer's logic (the same Sources, fallbacks, budget and batching the Lambda uses) over every
artist of the emulator's catalog — names known, as RDS has them — plus the listening user's playlists, in
``extended`` and ``development`` mode. Records go to a counting sink (Kinesis is not what is measured here).
Counts every ``/v1/*`` request the emulator answered (token requests and ReccoBeats excluded).

Prints one JSON line: ``extended``, ``development`` (calls per artist; goal ≤ 1.05 in extended mode), plus counts.

    .venv/bin/python bench/spotify_calls.py [--artists N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CountingProducer:
    def __init__(self):
        from sori.kinesis.producer import PutReport

        self.total = PutReport()

    def put(self, records):
        self.total.user_records += len(records)
        return self.total


def run_mode(emu, mode: str, artists: list[dict]) -> dict:
    from producers.logic.catalog import refresh_catalog
    from producers.runtime import open_run, open_user
    from sori.stores.state import MemoryState

    emu.configure(mode=mode)
    emu.reset_stats()
    run = open_run("catalog", producer=CountingProducer(), state=MemoryState(), workers=8)
    user = open_user(run)
    user_id = user.call("me", user.sp.me)["id"]
    t0 = time.perf_counter()
    res = refresh_catalog(artists, run.sources, run.emit, emitted_at=run.emitted_at, user=user, user_id=user_id)
    elapsed = time.perf_counter() - t0
    req = emu.stats()["requests"]
    v1 = sum(n for k, n in req.items() if " /v1/" in k)
    recco = sum(n for k, n in req.items() if "/reccobeats/" in k)
    return {"calls_per_artist": round(v1 / len(artists), 4), "v1_calls": v1, "reccobeats_calls": recco,
            "by_endpoint": {k: n for k, n in sorted(req.items()) if " /v1/" in k},
            "records": dict(res.records), "fallbacks": run.sources.fallbacks.used, "seconds": round(elapsed, 1),
            "stopped": res.stopped}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--artists", type=int, default=0, help="only the first N artists (0: the whole catalog)")
    args = ap.parse_args()
    from local.emulator import SpotifyEmulator, load_catalog

    cat = load_catalog()
    artists = [{"id": a.id, "name": a.name} for a in sorted(cat.artists.values(), key=lambda a: a.id)]
    if args.artists:
        artists = artists[: args.artists]
    emu = SpotifyEmulator(mode="extended", catalog=cat).start()
    os.environ.update({"SORI_SPOTIFY_API_URL": emu.api_prefix, "SORI_SPOTIFY_TOKEN_URL": emu.token_url,
                       "SORI_RECCOBEATS_URL": emu.reccobeats_url, "SORI_SPOTIFY_CLIENT_ID": "bench",
                       "SORI_SPOTIFY_CLIENT_SECRET": "bench", "SORI_SPOTIFY_REFRESH_TOKEN": "bench-user",
                       "SORI_SPOTIFY_BUDGET_PER_30S": "1000000"})
    for k in ("SORI_SPOTIFY_SECRET_ARN", "SORI_LISTENING_SECRET_ARN"):
        os.environ.pop(k, None)
    import logging

    logging.getLogger("sori-producers").setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from sori.settings import get_settings

    get_settings.cache_clear()
    try:
        out = {m: run_mode(emu, m, artists) for m in ("extended", "development")}
    finally:
        emu.stop()
    print(json.dumps({"extended": out["extended"]["calls_per_artist"],
                      "development": out["development"]["calls_per_artist"], "artists": len(artists),
                      "detail": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
