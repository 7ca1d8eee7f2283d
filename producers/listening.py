"""ListeningFunction: ``{"job": "recently_played"}`` every 2 h, ``{"job": "followed_artists"}`` daily.

The user's refresh token comes from ``ListeningTokenSecret``; a rotated one is written back at once. The
recently-played cursor (and the open listening session) lives in ``StateTable`` under ``listening#recently_played``
and moves only after the records were put: nothing is missed, nothing doubled.
"""
from __future__ import annotations

from typing import Any

from producers.jobs.listening import CURSOR, JOBS, run_listening
from producers.runtime import artist_store, logger, open_run
from sori.observability import observed
from sori.settings import ListeningSettings, check_on_cold_start

__all__ = ["CURSOR", "JOBS", "lambda_handler", "run_listening"]

check_on_cold_start(ListeningSettings)


@observed(logger)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # LambdaContext, or the local stack's
    run = open_run("listening", ListeningSettings.current().base)
    store = artist_store(run.settings) if (event or {}).get("job") == "followed_artists" else None
    return run_listening(event or {}, run, store)
