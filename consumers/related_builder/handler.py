"""RelatedBuilderFunction: daily after the nightly refresh — lake → related artists → RDS (one generation)."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from consumers.related_builder.build import build
from sori.settings import RelatedBuilderSettings, check_on_cold_start

logger = Logger(service="related_builder")
metrics = Metrics(namespace="sori", service="related_builder")
copy_config_to_registered_loggers(source_logger=logger, include={"sori", "consumers"})
check_on_cold_start(RelatedBuilderSettings)


@metrics.log_metrics
def lambda_handler(event, context=None):
    summary = build(RelatedBuilderSettings.current().base)
    metrics.add_metric(name="RelatedPairs", unit=MetricUnit.Count, value=summary["pairs"])
    metrics.add_metric(name="RelatedArtists", unit=MetricUnit.Count, value=summary["artists"])
    logger.info("related generation published", extra=summary)
    return summary
