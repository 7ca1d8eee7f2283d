"""CompactFunction (daily) and ``sori compact``: merge each old partition's small files into few large ones.

Event (all optional): ``{"table": "plays", "dt": "2026-11-22", "today": "2026-11-23", "min_age_days": 1,
"target_rows": 1000000}``. Without ``dt``, every partition at least ``min_age_days`` old that has more
than one live file is compacted (today's partitions are still being written). Safe to interrupt at any
point and to run again: see ``sori.lake.compact_partition``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sori.lake import CompactionReport, LakeStorage, compact_partition, live_files
from sori.observability import function_logger, observed
from sori.records import TABLES
from sori.settings import CompactSettings, check_on_cold_start

logger = function_logger("compact")
check_on_cold_start(CompactSettings)


def candidates(storage: LakeStorage, tables: Iterable[str], *, dt_: str | None, today: str,
               min_age_days: int) -> list[tuple[str, str]]:
    """(table, dt) partitions worth compacting."""
    cutoff = (dt.date.fromisoformat(today) - dt.timedelta(days=min_age_days)).isoformat()
    out = []
    for table in tables:
        for d in ([dt_] if dt_ else storage.partitions(table)):
            if (dt_ or d <= cutoff) and len(live_files(storage, table, d)) > 1:
                out.append((table, d))
    return out


def run(storage: LakeStorage, *, table: str | None = None, dt_: str | None = None, today: str | None = None,
        min_age_days: int = 1, target_rows: int = 1_000_000) -> list[CompactionReport]:
    today = today or dt.datetime.now(dt.UTC).date().isoformat()
    tables = [table] if table else list(TABLES)
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown lake table(s): {sorted(unknown)}")
    return [compact_partition(storage, t, d, target_rows=target_rows)
            for t, d in candidates(storage, tables, dt_=dt_, today=today, min_age_days=min_age_days)]


@observed(logger)
def lambda_handler(event: Mapping[str, Any] | None, context: LambdaContext | None = None) -> dict[str, Any]:
    event = event or {}
    storage = LakeStorage.from_settings(CompactSettings.current().base)
    reports = run(storage, table=event.get("table"), dt_=event.get("dt"),
                  today=event.get("today"), min_age_days=int(event.get("min_age_days", 1)),
                  target_rows=int(event.get("target_rows", 1_000_000)))
    logger.info("compacted", extra={"partitions": len(reports)})
    return {"compacted": [r.as_dict() for r in reports]}
