"""Spotify objects → contract records (pure functions; :func:`sori.records.make_record` validates each)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sori.records import make_record
from sori.spotify.sources import Features


def _image(obj: Mapping[str, Any] | None) -> str | None:
    images = (obj or {}).get("images") or []
    return images[0].get("url") if images and images[0] else None


def _url(obj: Mapping[str, Any]) -> str | None:
    return (obj.get("external_urls") or {}).get("spotify")


def artist_record(artist_id: str, obj: Mapping[str, Any] | None, fallback: Mapping[str, Any], *,
                  emitted_at: str, source: str = "spotify") -> dict[str, Any]:
    """An ``artist`` record from a full artist object, or from what we already know (``fallback``: a catalog row
    with ``name``/``genres``/``image_url``) when the object could not be fetched."""
    obj = obj or {}
    followers = obj.get("followers")
    genres = obj.get("genres") if obj.get("genres") is not None else fallback.get("genres")
    return make_record("artist", {
        "artist_id": artist_id,
        "name": obj.get("name") or fallback.get("name") or artist_id,
        "genres": list(genres) if genres else None,
        "popularity": obj.get("popularity"),
        "followers": followers.get("total") if isinstance(followers, dict) else None,
        "image_url": _image(obj) or fallback.get("image_url"),
        "url": _url(obj) if obj else f"https://open.spotify.com/artist/{artist_id}",
    }, source=source, emitted_at=emitted_at)


def top_track_records(artist_id: str, artist_name: str, tracks: Iterable[Mapping[str, Any]], via: str, *,
                      emitted_at: str) -> list[dict[str, Any]]:
    out = []
    for rank, t in enumerate(tracks, start=1):
        album = t.get("album") or {}
        out.append(make_record("top_track", {
            "artist_id": artist_id, "track_id": t["id"], "name": t.get("name") or t["id"], "rank": rank,
            "album": album.get("name"), "album_image": _image(album), "url": _url(t),
            "popularity": t.get("popularity"), "release_date": album.get("release_date"),
            "duration_ms": t.get("duration_ms"), "artist_name": artist_name, "via": via,
        }, source="spotify", emitted_at=emitted_at))
    return out


def features_record(f: Features, artist_id: str | None, *, emitted_at: str) -> dict[str, Any]:
    return make_record("audio_features", {"track_id": f.track_id, **f.values, "artist_id": artist_id, "via": f.via},
                       source="spotify" if f.via == "spotify" else f.via, emitted_at=emitted_at)


def collection_records(kind: str, collection_id: str, name: str | None, tracks: Iterable[Mapping[str, Any]], *,
                       emitted_at: str, source: str = "spotify") -> list[dict[str, Any]]:
    """``collection_member`` records: one per (artist, track) of a playlist / chart week / listening session."""
    out, seen = [], set()
    for t in tracks:
        for a in t.get("artists") or []:
            if not a or not a.get("id") or (a["id"], t.get("id")) in seen:
                continue
            seen.add((a["id"], t.get("id")))
            out.append(make_record("collection_member", {
                "kind": kind, "collection_id": collection_id, "artist_id": a["id"], "track_id": t.get("id"),
                "collection_name": name, "artist_name": a.get("name"),
            }, source=source, emitted_at=emitted_at))
    return out


def collab_records(tracks: Iterable[Mapping[str, Any]], *, emitted_at: str, seen: set[Any] | None = None,
                   source: str = "spotify") -> list[dict[str, Any]]:
    """``collection_member`` records of kind ``collab``: one collection per track credited to two or more
    artists (collection id = the track id), so the related builder sees who sang together. ``seen`` (track
    ids already emitted in this run) keeps each track to one collection."""
    seen = set() if seen is None else seen
    out: list[dict[str, Any]] = []
    for t in tracks:
        ids = {a.get("id") for a in t.get("artists") or [] if a and a.get("id")}
        if len(ids) < 2 or not t.get("id") or t["id"] in seen:
            continue
        seen.add(t["id"])
        out.extend(collection_records("collab", t["id"], t.get("name"), [t], emitted_at=emitted_at, source=source))
    return out
