"""CatalogFunction: the nightly catalog refresh (03:00 KST) and one-artist refreshes asked for by the chatbot.

Events: the nightly schedule (anything without artist ids) refreshes every stale artist in RDS (charts put the
artists they see there); an SQS batch from ``RefreshQueue`` (bodies ``{"artist_ids": [...]}``) or a direct
``{"artist_ids": [...], "artist_names": [...]}`` refreshes just those. Queued requests skip an artist refreshed in
the last ``fresh_within_minutes`` (default 60): many chatbot containers asking about one new artist cost Spotify
one refresh, not one each. ``stale_after_hours`` (default 20) and
``limit`` tune the nightly selection. A run stopped by ``QUOTA_EXCEEDED`` leaves a checkpoint that the next run
starts from. Returns the run summary.
"""
from __future__ import annotations

from typing import Any

from producers.jobs.catalog import (
    CHECKPOINT,
    FRESH_WITHIN_MINUTES,
    PUBLIC_PLAYLISTS_PATH,
    public_playlist_ids,
    requested_artists,
    run_catalog,
    select_artists,
)
from producers.runtime import artist_store, logger, open_run
from sori.observability import observed
from sori.settings import CatalogSettings, check_on_cold_start

__all__ = ["CHECKPOINT", "FRESH_WITHIN_MINUTES", "PUBLIC_PLAYLISTS_PATH", "lambda_handler", "public_playlist_ids",
           "requested_artists", "run_catalog",
           "select_artists"]

check_on_cold_start(CatalogSettings)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # LambdaContext, or the local stack's
    run = open_run("catalog", CatalogSettings.current().base)
    return run_catalog(event or {}, run, artist_store(run.settings))
