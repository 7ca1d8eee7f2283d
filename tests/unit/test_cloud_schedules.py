"""``sori cloud status`` reports the last run of each schedule: its table (local/cloud.py ``SCHEDULES``) is the
template's, and it reads a function's log the way Lambda and the handlers write it."""
from __future__ import annotations

import json

import yaml

from local import cloud


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _template_schedules() -> set[tuple[str, str, str | None]]:
    from local.provision.template import TEMPLATE_PATH

    with open(TEMPLATE_PATH) as f:
        doc = yaml.load(f, Loader=_Loader)
    out = set()
    for lid, res in doc["Resources"].items():
        for ev in (res.get("Properties") or {}).get("Events", {}).values():
            if ev.get("Type") in ("Schedule", "ScheduleV2"):
                job = json.loads(ev["Properties"]["Input"]).get("job") if ev["Properties"].get("Input") else None
                out.add((lid, ev["Properties"]["Schedule"] if "Schedule" in ev["Properties"]
                         else ev["Properties"]["ScheduleExpression"], job))
    return out


def test_the_schedule_table_is_the_templates():
    assert {(s.function, s.expression, s.job) for s in cloud.SCHEDULES} == _template_schedules()
    assert len({s.name for s in cloud.SCHEDULES}) == len(cloud.SCHEDULES)


def _events(*lines: str) -> list[dict]:
    return [{"timestamp": 1000 + i, "message": m} for i, m in enumerate(lines)]


def test_an_invocation_is_read_from_lambdas_lines_and_the_handlers():
    [ok, failed, crashed, cut] = cloud.invocations(_events(
        "a line of an earlier invocation, cut off by the page",
        "START RequestId: r1 Version: $LATEST",
        json.dumps({"level": "INFO", "message": "invoked", "trigger": "direct", "job": "recently_played"}),
        json.dumps({"level": "INFO", "message": "run summary", "summary": {"stopped": None, "job": "recently_played"}}),
        "END RequestId: r1",
        "REPORT RequestId: r1\tDuration: 2500.00 ms\tBilled Duration: 2500 ms",
        "START RequestId: r2 Version: $LATEST",
        json.dumps({"timestamp": "t", "log_level": "ERROR", "errorMessage": "boom", "errorType": "KeyError"}),
        "REPORT RequestId: r2\tDuration: 3.00 ms",
        "START RequestId: r3 Version: $LATEST",
        "REPORT RequestId: r3\tDuration: 9.00 ms\tStatus: error\tError Type: Runtime.ExitError",
        "START RequestId: r4 Version: $LATEST",
        json.dumps({"level": "INFO", "message": "invoked", "trigger": "sqs"})))
    assert (ok.request_id, ok.started_ms, ok.outcome, ok.job, ok.duration_ms) == ("r1", 1001, "ok", "recently_played", 2500.0)
    assert (failed.outcome, failed.error) == ("error", "KeyError: boom")  # the runtime's JSON log format
    assert (crashed.outcome, crashed.error) == ("error", "Status: error, Error Type: Runtime.ExitError")
    assert (cut.outcome, cut.trigger) == ("running", "sqs")


def test_which_invocations_are_a_schedules_runs():
    by = {s.name: s for s in cloud.SCHEDULES}
    queued = cloud.Invocation("q", 0, trigger="sqs")
    nightly = cloud.Invocation("n", 0, trigger="schedule")
    unknown = cloud.Invocation("u", 0)  # failed before its first line (an import error, say)
    followed = cloud.Invocation("f", 0, trigger="direct", job="followed_artists")
    assert not by["catalog nightly"].counts(queued) and by["catalog nightly"].counts(nightly)
    assert by["catalog nightly"].counts(unknown)
    assert by["listening followed artists"].counts(followed) and not by["listening recently played"].counts(followed)
    assert by["listening recently played"].counts(unknown) and by["listening followed artists"].counts(unknown)
