"""S3SinkFunction: Kinesis mapping → date-partitioned parquet under ``lake/<table>/dt=…`` + Glue partitions.

Thin: settings (checked, :class:`sori.settings.S3SinkSettings`) → adapters (cached per container) → the shared
consumer path with the columnar decoder.
"""
from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.s3_sink.logic import LakeSink, decode_columnar
from sori.consumer import consume
from sori.dlq import DeadLetterQueue
from sori.lake import GlueCatalog, LakeStorage
from sori.observability import function_logger, observed
from sori.settings import S3SinkSettings, check_on_cold_start

logger = function_logger("s3_sink")
check_on_cold_start(S3SinkSettings)


@functools.lru_cache(maxsize=4)
def _adapters(bucket: str, prefix: str, database: str, dlq_url: str,
              dlq_bucket: str) -> tuple[LakeSink, DeadLetterQueue]:
    storage = LakeStorage(bucket, prefix)
    return LakeSink(storage, GlueCatalog(database, storage)), DeadLetterQueue(dlq_url, overflow_bucket=dlq_bucket)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    s = S3SinkSettings.current()
    sink, dlq = _adapters(s.bucket, s.lake_prefix, s.glue_database, s.dlq_url, s.dlq_bucket)
    return consume(event, sink, dlq=dlq, decoder=decode_columnar, context=context, metrics_service="s3_sink")
