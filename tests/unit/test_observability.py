"""One observability idiom: Lambda context in every handler's logs, metrics as EMF, tracing only when switched on."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.lambda_context import LocalLambdaContext
from sori.observability import function_logger, observed, tracer_for, tracing_enabled

REPO = Path(__file__).resolve().parents[2]
HANDLER_MODULES = ("chatbot.handler", "consumers.dynamo_sink.handler", "consumers.s3_sink.handler",
                   "consumers.s3_sink.compact", "consumers.related_builder.handler", "producers.catalog",
                   "producers.charts", "producers.listening")


def _modules_after(code: str, env: dict | None = None) -> set[str]:
    import os

    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
                         env={**os.environ, **(env or {})})
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_tracing_is_off_unless_switched_on(monkeypatch):
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    assert not tracing_enabled() and tracer_for("x") is None
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert tracer_for("x") is None
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert tracing_enabled()


def test_no_xray_sdk_is_imported_by_any_handler_when_tracing_is_off():
    mods = _modules_after("import " + ", ".join(HANDLER_MODULES), {"POWERTOOLS_TRACE_DISABLED": ""})
    assert not [m for m in mods if m.startswith("aws_xray_sdk")]


def test_switched_on_the_handler_is_traced_and_still_answers(monkeypatch):
    pytest.importorskip("aws_xray_sdk")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    tracer = tracer_for("probe")
    assert tracer is not None  # a Powertools Tracer (disabled by Powertools itself outside Lambda)
    logger = function_logger("probe")

    @observed(logger)
    def handler(event, context=None):
        return {"ok": event["n"]}

    assert handler({"n": 1}, LocalLambdaContext(function_name="probe")) == {"ok": 1}


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_every_handler_uses_the_one_decorator(module):
    import importlib

    mod = importlib.import_module(module)
    for name in ("lambda_handler", "s3_handler"):
        fn = getattr(mod, name, None)
        if fn is not None:
            assert fn.__code__.co_filename.endswith("sori/observability.py"), f"{module}.{name} not @observed"


def _probe(service: str):
    """An @observed handler that logs "inside" and returns "done"."""
    logger = function_logger(service)

    @observed(logger)
    def handler(event, context=None):
        logger.info("inside")
        return "done"

    return handler


def test_the_context_reaches_the_log_line(capsys):
    handler = _probe("probe_ctx")
    assert handler({}, LocalLambdaContext(function_name="probe-fn")) == "done"
    line = json.loads([ln for ln in capsys.readouterr().out.splitlines() if '"inside"' in ln][-1])
    assert line["function_name"] == "probe-fn" and line["service"] == "probe_ctx"
    assert handler({}) == "done"  # no context (tests, scripts): runs as is


def test_each_invocation_opens_with_what_invoked_it(capsys):
    """``sori cloud status`` tells a function's triggers apart by this line (the nightly from a queued refresh)."""
    handler = _probe("probe_trigger")
    ctx = LocalLambdaContext(function_name="probe-fn")
    handler({"job": "followed_artists"}, ctx)
    handler({"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "{}"}]}, ctx)
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    assert [(ln["message"], ln.get("trigger"), ln.get("job")) for ln in lines] == [
        ("invoked", "direct", "followed_artists"), ("inside", None, None), ("invoked", "sqs", None), ("inside", None, None)]
    assert lines[0]["function_request_id"] == ctx.aws_request_id  # the invocation's own line, with its context
