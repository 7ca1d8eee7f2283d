"""The listening jobs: recently played (cursor and open session in ``StateTable``, moved only after the records
were put) and followed artists (seeded into RDS)."""
from __future__ import annotations

from typing import Any

from producers.jobs.ports import ArtistCatalog
from producers.logic.listening import Session, fetch_followed, fetch_recently_played, followed_records, play_records
from producers.runtime import Run, open_user, public, save_rotated_token, seed_new_artists
from sori.spotify.client import QuotaExceeded, RateLimited

CURSOR = "listening#recently_played"
JOBS = ("recently_played", "followed_artists")


def run_listening(event: dict[str, Any], run: Run, store: ArtistCatalog | None) -> dict[str, Any]:
    job = event.get("job") or "recently_played"
    if job not in JOBS:
        raise ValueError(f"unknown listening job {job!r} (expected one of {JOBS})")
    user = open_user(run)
    if user is None:
        raise RuntimeError("no listening refresh token configured (ListeningTokenSecret / SORI_SPOTIFY_REFRESH_TOKEN)")
    stopped, extra = None, {"job": job}
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
    return public(run.summary(artists=int(extra.get("followed", 0)), stopped=stopped, **extra))
