"""ListeningFunction: ``{"job": "recently_played"}`` every 2 h, ``{"job": "followed_artists"}`` daily.

The user's refresh token comes from ``ListeningTokenSecret``; a rotated one is written back at once. The
recently-played cursor (and the open listening session) lives in ``StateTable`` under ``listening#recently_played``
and moves only after the records were put: nothing is missed, nothing doubled.
"""
from __future__ import annotations

from typing import Any

from producers.logic.listening import Session, fetch_followed, fetch_recently_played, followed_records, play_records
from producers.runtime import (
    Run,
    artist_store,
    logger,
    open_run,
    open_user,
    public,
    save_rotated_token,
    seed_new_artists,
)
from sori.observability import observed
from sori.settings import ListeningSettings, check_on_cold_start
from sori.spotify.client import QuotaExceeded, RateLimited

CURSOR = "listening#recently_played"
JOBS = ("recently_played", "followed_artists")
check_on_cold_start(ListeningSettings)


def run_listening(event: dict[str, Any], run: Run, store: Any) -> dict[str, Any]:
    job = event.get("job") or "recently_played"
    if job not in JOBS:
        raise ValueError(f"unknown listening job {job!r} (expected one of {JOBS})")
    user = open_user(run)
    if user is None:
        raise RuntimeError("no listening refresh token configured (ListeningTokenSecret / SORI_SPOTIFY_REFRESH_TOKEN)")
    stopped: str | None = None
    extra: dict[str, Any] = {"job": job}
    try:
        user_id = user.call("me", user.sp.me)["id"]
        save_rotated_token(run)  # right after the first refresh: a crash later must not lose the new token
        if job == "recently_played":
            state = run.state.get(CURSOR) or {}
            plays = fetch_recently_played(user, state.get("after"))
            session = Session(state.get("session_id"), int(state.get("session_last_ms") or 0))
            records, session = play_records(plays.items, user_id, emitted_at=run.emitted_at, session=session)
            run.emit(records)
            if plays.items:
                run.state.put(CURSOR, {"after": plays.after, "session_id": session.id,
                                       "session_last_ms": session.last_ms})
            extra.update(plays=len(plays.items), cursor_before=state.get("after"), cursor_after=plays.after)
        else:
            followed = fetch_followed(user)
            run.emit(followed_records(followed.artists, user_id, emitted_at=run.emitted_at))
            extra.update(followed=len(followed.artists),
                         artists_seeded=seed_new_artists(store, {a["id"]: a["name"] for a in followed.artists},
                                                         "followed"))
    except (QuotaExceeded, RateLimited) as e:  # the cursor did not move: the next run picks up from it
        stopped = "QUOTA_EXCEEDED" if isinstance(e, QuotaExceeded) else "RATE_LIMITED"
    save_rotated_token(run)
    return public(run.summary(artists=extra.get("followed", 0), stopped=stopped, **extra))


@observed(logger)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = open_run("listening", ListeningSettings.current().base)
    return run_listening(event or {}, run, artist_store(run.settings) if (event or {}).get("job") ==
                         "followed_artists" else None)
