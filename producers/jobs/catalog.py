"""The catalog job: which artists to refresh (queued requests, named ones, or the stale ones), the refresh itself,
its checkpoint (a run stopped by ``QUOTA_EXCEEDED`` resumes from it) and the RDS writes."""
from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sori
from producers.jobs.ports import ArtistCatalog
from producers.logic.catalog import refresh_catalog
from producers.runtime import Run, artist_rows, logger, open_user, public, save_rotated_token
from sori.spotify.client import ApiError

CHECKPOINT = "catalog#checkpoint"
FRESH_WITHIN_MINUTES = 60.0
MAX_LOOKUP_NAME = 100  # a queued name lookup is cut to this many characters before it goes to Spotify search


# beside the sori package wherever it is installed (the SoriLayer on Lambda, not next to this file)
PUBLIC_PLAYLISTS_PATH = Path(sori.__file__).resolve().parent / "data" / "public_playlists.txt"


def public_playlist_ids(env: Mapping[str, str] | None = None, path: Path = PUBLIC_PLAYLISTS_PATH) -> list[str]:
    """The operator-listed public playlists: ``sori/data/public_playlists.txt`` (one id a line, ``#`` comments)
    then ``SORI_PUBLIC_PLAYLIST_IDS`` (comma-separated), deduplicated in that order."""
    env = os.environ if env is None else env
    ids: list[str] = []
    if path.exists():
        ids += [ln.split("#")[0].strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    ids += [x.strip() for x in (env.get("SORI_PUBLIC_PLAYLIST_IDS") or "").split(",")]
    return list(dict.fromkeys(i for i in ids if i))


def _str_list(body: dict[str, Any], key: str) -> list[str]:
    got = body.get(key, [])
    if not isinstance(got, list) or not all(isinstance(x, str) and x.strip() for x in got):
        raise ValueError(f"{key} must be a list of non-empty strings")
    return list(got)


def requested_artists(event: dict[str, Any]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(artist ids, artist names, SQS batch item failures) asked for by the event.

    A queued body (``RefreshQueue``) is ``{"artist_ids": [...]}`` (refresh known artists) and/or
    ``{"artist_names": [...]}`` (the chatbot did not know a name: look it up, issue 14 item 8); a body with
    neither is poison."""
    ids, names, failures = list(event.get("artist_ids") or []), list(event.get("artist_names") or []), []
    for rec in event.get("Records") or []:
        try:
            body = json.loads(rec.get("body") or "")
            if not isinstance(body, dict) or not ({"artist_ids", "artist_names"} & body.keys()):
                raise KeyError("artist_ids")
            ids.extend(_str_list(body, "artist_ids"))
            names.extend(n.strip()[:MAX_LOOKUP_NAME] for n in _str_list(body, "artist_names"))
        except (ValueError, KeyError, TypeError) as e:  # poison message: SQS retries it, then its DLQ keeps it
            logger.error("bad refresh request", extra={"message_id": rec.get("messageId"), "reason": str(e)})
            failures.append({"itemIdentifier": rec.get("messageId")})
    return ids, names, failures


def select_artists(run: Run, store: ArtistCatalog | None, ids: list[str], names: list[str],
                   event: dict[str, Any]) -> list[dict[str, Any]]:
    """The artists to refresh: requested ones (resolved through RDS, then Spotify search), else the stale ones.
    A queued event (``Records``) only ever refreshes what it asked for, even when that is nothing."""
    if ids or names or event.get("Records"):
        known = store.get_many(ids) if store is not None else {}
        if event.get("Records"):  # queued (chatbot) requests: one refresh per artist per window is enough
            window = event.get("fresh_within_minutes", FRESH_WITHIN_MINUTES)
            ids = [i for i in ids if not _fresh(known.get(i), window)]
        out = [{"id": i, "name": (known.get(i) or {}).get("name") or "",
                **{k: v for k, v in (known.get(i) or {}).items() if k in ("genres", "image_url")}}
               for i in dict.fromkeys(ids)]
        for name in dict.fromkeys(names):
            hit = (store.find_by_name_norm(name) if store is not None else []) or []
            found = hit[0] if hit else run.sources.find_artist(name)
            if found and found["id"] not in {a["id"] for a in out}:
                out.append({"id": found["id"], "name": found["name"]})
        return out
    if store is None:
        return []
    hours = float(event.get("stale_after_hours", 20))
    older = _dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=hours)
    return store.stale_artists(older, limit=event.get("limit"))


def _fresh(artist: dict[str, Any] | None, minutes: float) -> bool:
    """Whether an artist row was refreshed within the last ``minutes``."""
    at = (artist or {}).get("refreshed_at")
    if isinstance(at, str):
        try:
            at = _dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return False
    if not isinstance(at, _dt.datetime):
        return False
    at = at if at.tzinfo else at.replace(tzinfo=_dt.UTC)
    return _dt.datetime.now(_dt.UTC) - at < _dt.timedelta(minutes=float(minutes))


def run_catalog(event: dict[str, Any], run: Run, store: ArtistCatalog | None,
                progress: Callable[..., Any] | None = None) -> dict[str, Any]:
    ids, names, failures = requested_artists(event)
    requested = bool(ids or names or event.get("Records"))  # a queued batch never turns into a nightly run
    # first, before any store is read: a listening token still holding the placeholder stops the nightly at once
    user = open_user(run) if not requested else None
    checkpoint = run.state.get(CHECKPOINT) or {}
    selected = select_artists(run, store, ids, names, event)
    skipped_fresh = len(set(ids) - {a["id"] for a in selected})
    artists = list(checkpoint.get("pending_artists") or []) + selected
    resumed = ({"pending_artists": len(checkpoint.get("pending_artists") or []),
                "pending_features": len(checkpoint.get("pending_features") or []),
                "stopped_at": checkpoint.get("stopped_at")} if checkpoint else None)
    user_id = None
    if user is not None:
        try:
            user_id = user.call("me", user.sp.me).get("id")
            save_rotated_token(run)
        except ApiError as e:
            logger.warning("listening user unavailable; collections skipped", extra={"reason": str(e)})
            user = None

    def on_chunk(artist_records: list[dict[str, Any]]) -> None:
        if store is not None:
            store.upsert_artists(artist_rows(artist_records, "catalog", run.emitted_at), source="catalog")

    res = refresh_catalog(artists, run.sources, run.emit, emitted_at=run.emitted_at,
                          pending_features=checkpoint.get("pending_features"), on_chunk=on_chunk,
                          progress=progress, user=user, user_id=user_id,
                          public=public_playlist_ids() if not requested else None)
    save_rotated_token(run)
    if res.stopped:
        run.state.put(CHECKPOINT, {"pending_artists": res.pending_artists, "pending_features": res.pending_features,
                                   "stopped_at": run.emitted_at, "reason": res.stopped})
    elif checkpoint:
        run.state.delete(CHECKPOINT)
    aliases = None
    if store is not None and not requested:  # nightly: curated Hangul <-> Latin aliases for artists now known
        from sori.stores.mysql import seed_aliases

        aliases = seed_aliases(store.conn).inserted
    summary = run.summary(artists=res.artists_done, resumed_from=resumed, stopped=res.stopped,
                          pending_artists=len(res.pending_artists), collections=res.collections,
                          public_playlists=res.public_playlists, collabs=res.collabs,
                          aliases_seeded=aliases, skipped_fresh=skipped_fresh)
    if failures:
        summary["batchItemFailures"] = failures
    return public(summary)
