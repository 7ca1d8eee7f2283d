"""RelatedBuilderFunction: daily after the nightly refresh — lake → related artists → RDS (one generation)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.related_builder.build import build
from sori.observability import function_logger, observed, publish
from sori.settings import RelatedBuilderSettings, check_on_cold_start

logger = function_logger("related_builder")
check_on_cold_start(RelatedBuilderSettings)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    summary = build(RelatedBuilderSettings.current().base)
    publish({"RelatedPairs": summary["pairs"], "RelatedArtists": summary["artists"]}, service="related_builder")
    logger.info("related generation published", extra=summary)
    return summary
