"""Logs, metrics and traces for every function, one way each (Powertools).

Every handler module does the same three things::

    from sori.observability import function_logger, observed

    logger = function_logger("dynamo_sink")          # Powertools Logger; sori/consumers/producers/chatbot loggers
                                                     # write through it (same JSON format, same Lambda keys)

    @observed(logger)                                # inject_lambda_context(clear_state=True), plus tracing when on
    def lambda_handler(event, context=None): ...

* **Logs**: :func:`function_logger` builds the function's Powertools ``Logger`` and copies its configuration to the
  standard-library loggers of the project's packages, so a ``logging.getLogger(__name__)`` line in ``sori`` is a
  structured line carrying the Lambda context too.
* **Metrics**: :func:`publish` (from :mod:`sori.metrics`): one EMF line per call through Powertools'
  ``EphemeralMetrics``; nothing else in the code emits metrics.
* **Traces**: off unless ``POWERTOOLS_TRACE_DISABLED=false`` is set explicitly (with ``Tracing: Active`` on the
  function). Only then is a Powertools ``Tracer`` built: building one imports ``aws_xray_sdk`` (not in the Lambda
  runtime; the Powertools layer ships it), which the chatbot's cold start must not pay for when tracing is off.
  Outside Lambda, Powertools keeps a Tracer disabled by itself.

Each invocation's first line is ``"invoked"`` with what invoked it (:func:`trigger_of`: ``schedule``, ``sqs``,
``kinesis``, ``s3``, ``http``, ``cloudformation`` or ``direct``, and the event's ``job`` when it names one), so
``sori cloud status`` can tell from a function's log which of its triggers ran last (the nightly catalog refresh
from a queued one, the recently-played job from the followed-artists one).

A handler called without a Lambda context (tests, scripts: ``lambda_handler(event)``) runs undecorated: there is
no context to put in the logs.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from sori.metrics import publish

if TYPE_CHECKING:  # pragma: no cover
    from aws_lambda_powertools import Tracer

__all__ = ["PROJECT_LOGGERS", "function_logger", "observed", "publish", "tracer_for", "tracing_enabled", "trigger_of"]

#: the standard-library loggers that write through the function's Powertools Logger
PROJECT_LOGGERS = frozenset({"sori", "consumers", "producers", "chatbot"})

Handler = TypeVar("Handler", bound=Callable[..., Any])


def function_logger(service: str) -> Logger:
    """The function's Powertools Logger, its configuration copied to the project's standard-library loggers."""
    logger = Logger(service=service)
    copy_config_to_registered_loggers(source_logger=logger, include=set(PROJECT_LOGGERS))
    return logger


def tracing_enabled() -> bool:
    """Whether tracing was switched on: ``POWERTOOLS_TRACE_DISABLED`` set to a false value explicitly."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("0", "false", "n", "no", "off")


def tracer_for(service: str) -> Tracer | None:
    """A Powertools Tracer when tracing is on, else None (and no X-Ray SDK import)."""
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=service)


def observed(logger: Logger) -> Callable[[Handler], Handler]:
    """The one handler decorator: the Lambda context in every log line (state cleared per invocation), and the
    invocation traced when tracing is on. The decision is taken once, when the module is imported (cold start)."""

    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def announced(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            logger.info("invoked", extra=trigger_of(event))
            return fn(event, context, *args, **kwargs)

        injected = logger.inject_lambda_context(clear_state=True)(announced)
        tracer = tracer_for(logger.service)
        traced = tracer.capture_lambda_handler(injected) if tracer is not None else injected

        @functools.wraps(fn)
        def handler(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
            if context is None:  # called outside Lambda (tests, scripts): no context to log
                return fn(event, context, *args, **kwargs)
            return traced(event, context, *args, **kwargs)

        return handler  # type: ignore[return-value]

    return decorate


_RECORD_SOURCES = {"aws:sqs": "sqs", "aws:kinesis": "kinesis", "aws:s3": "s3", "aws:sns": "sns"}


def trigger_of(event: Any) -> dict[str, str]:
    """What invoked a function, from its event's shape: ``{"trigger": kind}``, plus the schedule's ``rule`` or the
    event's ``job`` when there is one.

    >>> trigger_of({"source": "aws.events", "detail-type": "Scheduled Event",
    ...             "resources": ["arn:aws:events:ap-northeast-2:1:rule/sori-CatalogFunctionNightly-AbC"]})
    {'trigger': 'schedule', 'rule': 'sori-CatalogFunctionNightly-AbC'}
    >>> trigger_of({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    {'trigger': 'sqs'}
    >>> trigger_of({"job": "recently_played"})  # a schedule's fixed Input, or a direct invocation
    {'trigger': 'direct', 'job': 'recently_played'}
    """
    if not isinstance(event, dict):
        return {"trigger": "direct"}
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        source = records[0].get("eventSource") or records[0].get("EventSource") or ""
        return {"trigger": _RECORD_SOURCES.get(source, source or "records")}
    if event.get("source") == "aws.events":
        resources = event.get("resources") or [""]
        return {"trigger": "schedule", "rule": str(resources[0]).rsplit("/", 1)[-1]}
    if "requestContext" in event:
        return {"trigger": "http"}
    if "RequestType" in event and "ResponseURL" in event:
        return {"trigger": "cloudformation"}
    out = {"trigger": "direct"}
    if isinstance(event.get("job"), str):
        out["job"] = event["job"]
    return out
