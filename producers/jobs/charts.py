"""The charts jobs: the weekly run over every chart (checkpointed when stopped by ``QUOTA_EXCEEDED``) and the S3
drops of charts.spotify.com CSVs (parsed whole, emitted all or nothing, a malformed file kept under
``rejected/charts/`` with its reason)."""
from __future__ import annotations

import datetime as _dt
import urllib.parse
from collections.abc import Callable
from typing import Any

from producers.jobs.ports import ArtistCatalog
from producers.logic.charts import ingest_csv, run_weekly
from producers.runtime import Run, logger, name_resolver, public, seed_new_artists
from sori.charts import ChartCSVError, chart_for, chart_week, load_charts, parse_chart_filename

CHECKPOINT = "charts#checkpoint"
REJECTED_PREFIX = "rejected/charts/"


def run_charts(event: dict[str, Any], run: Run, store: ArtistCatalog | None,
               progress: Callable[..., Any] | None = None) -> dict[str, Any]:
    checkpoint = run.state.get(CHECKPOINT) or {}
    week = event.get("week") or checkpoint.get("week") or chart_week(_dt.datetime.now(_dt.UTC).date())
    countries = event.get("countries") or (checkpoint.get("pending") if checkpoint.get("week") == week else None)
    charts = [chart_for(c) for c in countries] if countries else list(load_charts().values())
    res = run_weekly(charts, week, run.sources, run.emit, emitted_at=run.emitted_at, progress=progress,
                     resolve=name_resolver(store))
    seeded = seed_new_artists(store, res.seen_artists, "chart")
    if res.stopped:
        run.state.put(CHECKPOINT, {"week": week, "pending": res.pending, "stopped_at": run.emitted_at,
                                   "reason": res.stopped})
    elif checkpoint:
        run.state.delete(CHECKPOINT)
    resumed = {"week": checkpoint.get("week"), "pending": len(checkpoint.get("pending") or [])} if checkpoint else None
    return public(run.summary(artists=len(res.seen_artists), resumed_from=resumed, stopped=res.stopped, week=week,
                              charts=res.charts, pending_charts=res.pending, artists_seeded=seeded))


def chart_of_object(key: str, metadata: dict[str, Any]) -> tuple[str, str]:
    """(country, week) of a dropped object: metadata wins over the file name."""
    from_name = parse_chart_filename(key) or (None, None)
    country = (metadata.get("country") or from_name[0] or "").lower()
    week = metadata.get("week") or from_name[1]
    if not country or not week:
        raise ChartCSVError("cannot tell country and week: name it regional-<cc>-weekly-<YYYY-MM-DD>.csv or set "
                            "object metadata country and week", 0, key)
    try:
        _dt.date.fromisoformat(week)
    except ValueError:
        raise ChartCSVError(f"week {week!r} is not YYYY-MM-DD", 0, key) from None
    return country, week


def ingest_object(s3: Any, bucket: str, key: str, run: Run, store: ArtistCatalog | None) -> dict[str, Any]:
    obj = s3.get_object(Bucket=bucket, Key=key)
    meta = {k.lower(): v for k, v in (obj.get("Metadata") or {}).items()}
    country, week = chart_of_object(key, meta)
    try:
        chart = chart_for(country)
    except KeyError as e:
        raise ChartCSVError(str(e.args[0]), 0, key) from None
    rows = meta.get("rows")
    records, entries = ingest_csv(chart, week, obj["Body"].read(), run.sources, emitted_at=run.emitted_at, name=key,
                                  expected_rows=int(rows) if rows else 200, resolve=name_resolver(store))
    run.emit(records)  # all or nothing: a failure raises, S3 retries the event, the same ids are re-sent
    seen = {a["id"]: a.get("name") or a["id"] for e in entries for a in e.artists if a.get("id")}
    seed_new_artists(store, seen, "chart")
    return {"key": key, "country": country, "week": week, "entries": len(entries)}


def reject(s3: Any, run: Run, bucket: str, key: str, err: ChartCSVError) -> dict[str, Any]:
    """Keep a rejected file and its reason out of the landing area (and on the DLQ when one is configured)."""
    base = key.rsplit("/", 1)[-1]
    s3.copy_object(Bucket=bucket, Key=REJECTED_PREFIX + base, CopySource={"Bucket": bucket, "Key": key})
    s3.put_object(Bucket=bucket, Key=REJECTED_PREFIX + base + ".error.txt", Body=str(err).encode("utf-8"))
    if run.settings.dlq_url:
        from sori.dlq import DeadLetterQueue

        if DeadLetterQueue(run.settings.dlq_url).send([{"reason": str(err), "bucket": bucket, "key": key,
                                                         "line": err.line}]):
            logger.error("rejected chart CSV not dead-lettered (kept under rejected/)", extra={"key": key})
    logger.error("chart CSV rejected", extra={"key": key, "reason": str(err)})
    return {"key": key, "error": str(err), "line": err.line}


def ingest_drops(event: dict[str, Any], run: Run, store: ArtistCatalog | None, s3: Any) -> dict[str, Any]:
    """Every object of an S3 event: ingested, or rejected with its reason; the run summary."""
    ingested, rejected = [], []
    for rec in event.get("Records") or []:
        bucket = rec["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(rec["s3"]["object"]["key"])
        try:
            ingested.append(ingest_object(s3, bucket, key, run, store))
        except ChartCSVError as e:
            rejected.append(reject(s3, run, bucket, key, e))
    return public(run.summary(artists=0, files=ingested, rejected=rejected))
