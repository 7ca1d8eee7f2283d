"""DynamoSinkFunction: Kinesis mapping → TopTracksTable (newest record wins), poison → DynamoSinkDLQ.

``SORI_DYNAMO_WRITE_MODE`` (typed, :class:`sori.settings.DynamoSinkSettings`) picks the writer (``transact``,
the default, or ``batch``; see ``sori.stores.dynamo``). Both keep newest-wins; they trade requests (10 vs 50
per 1,000 items) against write units (2 vs 1 per item) and atomicity of the check.
"""
from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.dynamo_sink.logic import TopTracksSink
from sori.consumer import consume, decode_rows
from sori.dlq import DeadLetterQueue
from sori.observability import function_logger, observed
from sori.settings import DynamoSinkSettings, WriteMode, check_on_cold_start
from sori.stores.dynamo import TopTracksStore

logger = function_logger("dynamo_sink")
check_on_cold_start(DynamoSinkSettings)


@functools.lru_cache(maxsize=4)
def _adapters(table: str, dlq_url: str, dlq_bucket: str, mode: WriteMode) -> tuple[TopTracksSink, DeadLetterQueue]:
    return TopTracksSink(TopTracksStore(table, mode=mode)), DeadLetterQueue(dlq_url, overflow_bucket=dlq_bucket)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    s = DynamoSinkSettings.current()
    sink, dlq = _adapters(s.top_tracks_table, s.dlq_url, s.dlq_bucket, s.dynamo_write_mode)
    return consume(event, sink, dlq=dlq, decoder=decode_rows, context=context, metrics_service="dynamo_sink")
