"""SchemaMigrationFunction: the ``Custom::SchemaMigration`` resource of template.yaml — every deploy migrates RDS.

A deploy-time job, filed beside the other jobs that are not producers (the design card's top-level folders). The
protocol and the always-answer rule live in :mod:`sori.stores.mysql.custom_resource`; the versioned, idempotent
migrations in :mod:`sori.stores.mysql.migrations` (the same ones ``sori mysql migrate`` runs locally).
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sori.observability import function_logger, observed
from sori.settings import SchemaMigrationSettings, check_on_cold_start
from sori.stores.mysql.connection import connection_params, open_connection
from sori.stores.mysql.custom_resource import handle
from sori.stores.mysql.migrations import applied_versions, migrate

logger = function_logger("schema_migration")
check_on_cold_start(SchemaMigrationSettings)


def _current(conn: Any) -> int | None:
    versions = applied_versions(conn)
    return max(versions) if versions else None


@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    settings = SchemaMigrationSettings.current().base
    return handle(event, connect=lambda: open_connection(connection_params(settings)), migrate=migrate,
                  current_version=_current)
