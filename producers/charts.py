"""ChartsFunction (weekly schedule) and ChartsDropFunction (S3 ``landing/charts/*.csv``): chart records.

Weekly event (optional keys): ``{"week": "YYYY-MM-DD", "countries": ["kr", "global"]}``; default: this chart
week, every chart in ``sori/data/charts.csv``. A run stopped by ``QUOTA_EXCEEDED`` checkpoints the charts it did
not reach; the next run does those first.

S3 drop: each object is a charts.spotify.com weekly export; country and week come from its name
(``regional-<cc>-weekly-<YYYY-MM-DD>.csv``) or its metadata (``country``, ``week``). A file is parsed whole
before anything is sent; a malformed one is rejected whole — copied to ``rejected/charts/`` with the reason
(and dead-lettered when a DLQ is configured) — because retrying cannot fix it.
"""
from __future__ import annotations

from typing import Any

from producers.jobs.charts import (
    CHECKPOINT,
    REJECTED_PREFIX,
    chart_of_object,
    ingest_drops,
    ingest_object,
    reject,
    run_charts,
)
from producers.runtime import artist_store, logger, open_run
from sori.observability import observed
from sori.settings import ChartsDropSettings, ChartsSettings, check_on_cold_start

__all__ = ["CHECKPOINT", "REJECTED_PREFIX", "chart_of_object", "ingest_drops", "ingest_object", "lambda_handler",
           "reject", "run_charts", "s3_handler"]

check_on_cold_start(ChartsDropSettings)  # what both functions of this module need (the weekly run: ChartsSettings)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # LambdaContext, or the local stack's
    run = open_run("charts", ChartsSettings.current().base)
    return run_charts(event or {}, run, artist_store(run.settings))


@observed(logger)
def s3_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # LambdaContext, or the local stack's
    import boto3

    run = open_run("charts-drop", ChartsDropSettings.current().base)
    return ingest_drops(event, run, artist_store(run.settings), boto3.client("s3"))
