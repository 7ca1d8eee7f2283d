"""A new chatbot container's first answer: CPU seconds from a fresh interpreter to the first reply.

A child interpreter (what Lambda's init + first invoke pay) imports ``chatbot.handler``, answers one Kakao request
for a known artist against a seeded local world (moto, MariaDB, the emulator), and reports its own CPU time
(``getrusage``: user + system, interpreter start included). Lambda gives CPU in proportion to memory (1,769 MB =
one vCPU), so at ``memory_mb`` the first answer takes about ``lambda_cold_first_answer_cpu_s × 1769 / memory_mb``
s of wall clock when CPU-bound. One JSON line: ``cold_first_answer_cpu_s`` (median of 5), ``memory_mb`` (template.yaml),
``est_wall_s_at_memory``, ``runs``; and ``lambda_cold_first_answer_cpu_s``: the same first answer from the
function's **built artifact** (``local.lambda_check``: built like ``sam build``, its layers as /opt/python, run in
``python3.12 -I -S -B``: what the build compiled ahead is used, nothing is written, as on a read-only
/var/task), median of 3; ``lambda_cold_typo_answer_cpu_s`` the same for a misspelt name ("BLAKCPINK": the fuzzy
keys are built on that first fuzzy lookup).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = r'''
import json, resource, sys
event_json, = sys.argv[1:]
from chatbot.handler import lambda_handler
res = lambda_handler(json.loads(event_json), None)
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu_s": u.ru_utime + u.ru_stime, "status": res["statusCode"], "body": res["body"][:200]}))
'''


def chatbot_memory_mb() -> int:
    from local.provision import load_template

    return int(load_template()["Resources"]["ChatbotFunction"]["Properties"]["MemorySize"])


def lambda_artifact_runs(event: dict, env: dict, runs: int = 3) -> list[float]:
    """CPU seconds of the first answer from ChatbotFunction's built artifact under python3.12 (see the docstring)."""
    from local import lambda_check as lc

    art = lc.build_function("ChatbotFunction")
    cpu = []
    for _ in range(runs):
        out = lc.run_handler(art, "chatbot.handler.lambda_handler", event,
                             {**env, "AWS_LAMBDA_FUNCTION_NAME": "sori-chatbot", "POWERTOOLS_METRICS_DISABLED": "true",
                              "POWERTOOLS_LOG_LEVEL": "ERROR"})
        assert out["result"]["statusCode"] == 200, out["result"]
        cpu.append(float(out["cpu_s"]))
    return cpu


def _event(utterance: str, secret: str) -> dict:
    from local.webhook import http_api_event

    body = {"userRequest": {"utterance": utterance, "lang": "ko", "timezone": "Asia/Seoul",
                            "user": {"id": "bench", "type": "botUserKey", "properties": {}}, "params": {},
                            "block": {"id": "b", "name": "b"}},
            "bot": {"id": "bot", "name": "sori"}, "intent": {"id": "i", "name": "i"},
            "action": {"id": "a", "name": "a", "params": {}, "detailParams": {}, "clientExtra": {}}}
    return http_api_event("POST", "/skill", {"content-type": "application/json", "x-skill-secret": secret},
                          json.dumps(body).encode(), "127.0.0.1", "POST /skill")


def main(runs: int = 5) -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    from local.commands.chatbot import chatbot_world

    with chatbot_world(related_for=100) as w:
        event, typo = (_event(u, w["secret"]) for u in ("BLACKPINK", "BLAKCPINK"))
        env = {**os.environ, **w["env"], "PYTHONPATH": str(REPO)}
        results = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(event)], env=env, capture_output=True,
                                 text=True, check=True, cwd=REPO)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        lambda_runs = lambda_artifact_runs(event, w["env"])
        typo_runs = lambda_artifact_runs(typo, w["env"])
    assert all(r["status"] == 200 for r in results), results
    cpu = statistics.median(r["cpu_s"] for r in results)
    lam = statistics.median(lambda_runs)
    mem = chatbot_memory_mb()
    print(json.dumps({"cold_first_answer_cpu_s": round(cpu, 3), "memory_mb": mem,
                      "est_wall_s_at_memory": round(lam * 1769 / mem, 2),
                      "runs": [round(r["cpu_s"], 3) for r in results],
                      "lambda_cold_first_answer_cpu_s": round(lam, 3),
                      "lambda_runs": [round(c, 3) for c in lambda_runs],
                      "lambda_cold_typo_answer_cpu_s": round(statistics.median(typo_runs), 3),
                      "reply": results[0]["body"][:120]}))


if __name__ == "__main__":
    main()
