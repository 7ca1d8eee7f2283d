"""The chaos run at 100,000 records (issue 8): every fault injected, then reconciled.

    .venv/bin/python bench/chaos.py [--records 100000] [--seed 7]

Prints one JSON line: produced, landed_lake, landed_dynamo, lost, duplicated, dead_lettered, poison,
blocked_shards, ok, seconds, records_per_s (+ fault counts). Exit status 1 when the run is not clean.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from local.chaos import ChaosConfig
from local.commands.chaos import run_quietly


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    r = run_quietly(ChaosConfig(records=a.records, seed=a.seed))
    f = r.faults
    out = {**r.summary(), "records_per_s": round(r.produced / r.seconds, 1),
           "put_failed_entries": f["put_records"]["failed_entries"],
           "put_throttled_calls": f["put_records"]["throttled_calls"],
           "consumer_invocations": sum(v["invocations"] for v in f["consumer_crashes"].values()
                                       if isinstance(v, dict)),
           "consumer_crashes": sum(v["crashes"] for k, v in f["consumer_crashes"].items() if isinstance(v, dict)),
           "runner_restarts": f["runner_kill"]["restarts"], "mysql_swap_ok": f["mysql_kill_during_swap"].get("ok"),
           "spotify_ok": f["spotify_bursts"].get("ok"),
           "repeated_by_producers": r.details.get("repeated_by_producers"),
           "machine": f"{platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}"}
    print(json.dumps(out))
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
