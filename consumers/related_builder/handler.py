"""RelatedBuilderFunction: daily after the nightly refresh — lake → related artists → RDS (one generation)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.related_builder.build import build
from sori.settings import get_settings

logger = Logger(service="related_builder")
metrics = Metrics(namespace="sori", service="related_builder")
copy_config_to_registered_loggers(source_logger=logger, include={"sori", "consumers"})


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    summary = build(get_settings())
    metrics.add_metric(name="RelatedPairs", unit=MetricUnit.Count, value=summary["pairs"])
    metrics.add_metric(name="RelatedArtists", unit=MetricUnit.Count, value=summary["artists"])
    logger.info("related generation published", extra=summary)
    return summary
