"""Type names shared by the layer's modules.

boto3 ships no annotations and the project pins no ``boto3-stubs`` (one stubs distribution per service), so
a boto3 client, resource or session is ``Any`` at the boundary: these aliases say which one is meant.
"""
from __future__ import annotations

from typing import Any, TypeAlias

#: ``boto3.client(...)`` of any service (S3, SQS, Kinesis, DynamoDB, Glue, Athena, Secrets Manager).
BotoClient: TypeAlias = Any
#: ``boto3.Session`` (awswrangler and pyarrow take one).
BotoSession: TypeAlias = Any
