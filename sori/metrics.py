"""CloudWatch metrics for one invocation: a producer run's or a consumer batch's figures, as one EMF log line.

Powertools' ``EphemeralMetrics`` (one instance per call: nothing shared between functions that run in one
process, as the local stack's do) builds the embedded-metric-format line; CloudWatch turns it into metrics in
the ``POWERTOOLS_METRICS_NAMESPACE`` namespace (the template sets ``sori``), dimensioned by ``service``.

>>> publish({"UserRecords": 500, "PoisonRecords": 0}, service="s3_sink")   # doctest: +SKIP
{"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":"sori","Dimensions":[["service"]],…}]},"service":"s3_sink",…}

Where no CloudWatch reads stdout — the local stack sets ``POWERTOOLS_METRICS_DISABLED=true`` — nothing is printed.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULT_NAMESPACE = "sori"


def publish(counts: Mapping[str, float | None], *, service: str, dimensions: Mapping[str, str] | None = None) -> bool:
    """Print ``counts`` (unit Count) as one EMF line; returns whether anything was published."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    present = {k: v for k, v in counts.items() if v is not None}
    if not present or is_metrics_disabled():
        return False
    m = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
                         service=service)
    for name, value in (dimensions or {}).items():
        m.add_dimension(name=name, value=str(value))
    for metric, count in present.items():
        m.add_metric(name=metric, unit=MetricUnit.Count, value=float(count))
    m.flush_metrics()
    return True


def run_figures(summary: Mapping[str, Any]) -> dict[str, float]:
    """The figures of a producer run summary worth a metric (and an alarm or a chart).

    >>> run_figures({"artists": 3, "kinesis": {"user_records": 40, "kinesis_records": 1, "put_units": 1},
    ...              "calls": 4, "reccobeats_calls": 1, "fallbacks_used": ["top_tracks→search"], "stopped": None})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'Artists': 3, 'UserRecords': 40, 'KinesisRecords': 1, 'PutPayloadUnits': 1, 'SpotifyCalls': 4,
     'ReccoBeatsCalls': 1, 'FallbacksUsed': 1, 'RunsStopped': 0}
    """
    k = summary.get("kinesis") or {}
    return {"Artists": summary.get("artists") or 0, "UserRecords": k.get("user_records", 0),
            "KinesisRecords": k.get("kinesis_records", 0), "PutPayloadUnits": k.get("put_units", 0),
            "SpotifyCalls": summary.get("calls") or 0, "ReccoBeatsCalls": summary.get("reccobeats_calls") or 0,
            "FallbacksUsed": len(summary.get("fallbacks_used") or ()), "RunsStopped": int(bool(summary.get("stopped")))}
