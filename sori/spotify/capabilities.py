"""Which Spotify endpoints this app may use, found out once per run (docs/ARCHITECTURE.md §6.1).

An extended-quota app keeps every endpoint; a development-mode app created after Feb 2026 gets 403/404 on
audio-features, ``/artists/{id}/top-tracks``, batch ``/artists`` and ``/tracks``, editorial playlists and other
users' playlist items. Rather than spending calls on a separate probe, the first real use of an endpoint *is* the
probe: its answer is remembered for the run, logged once, and later requests go straight to the named fallback.

>>> caps = Capabilities()
>>> caps.attempt("top_tracks", lambda: {"tracks": []})
{'tracks': []}
>>> caps.as_dict()["top_tracks"]
True

:meth:`Capabilities.probe_all` exists for the CLI (``sori run … --probe``) and costs one call per capability.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sori.spotify.client import ApiError

log = logging.getLogger("sori.spotify")

#: capability -> HTTP statuses that mean "this app may not use it". A 404 only means that item is missing — except
#: on an id known to exist (``attempt(..., known_id=True)``, e.g. the Global Top 50 playlist), where it is how
#: Spotify hides editorial playlists from a development-mode app.
CAPABILITIES: dict[str, frozenset[int]] = {
    "artists_batch": frozenset({403}),
    "tracks_batch": frozenset({403}),
    "top_tracks": frozenset({403}),
    "audio_features": frozenset({403}),
    "editorial_playlists": frozenset({403}),
    "playlist_items": frozenset({403}),  # items of playlists the user only follows (dev mode: own ones only)
}


class Unavailable(Exception):
    """This app may not use ``capability`` (remembered for the run)."""

    def __init__(self, capability: str, status: int | None = None):
        super().__init__(f"{capability} unavailable" + (f" (HTTP {status})" if status else ""))
        self.capability, self.status = capability, status


class Capabilities:
    def __init__(self, known: dict[str, bool] | None = None, logger: Any = None):
        self.known: dict[str, bool] = dict(known or {})
        self.log = logger or log
        self._lock = threading.Lock()

    def get(self, name: str) -> bool | None:
        return self.known.get(name)

    def _set(self, name: str, value: bool, status: int | None = None) -> None:
        with self._lock:
            if name in self.known:
                return
            self.known[name] = value
        self.log.info("spotify capability %s: %s", name,
                      "available" if value else f"unavailable (HTTP {status}); using its fallback")

    def attempt(self, name: str, fn: Callable[[], Any], *, known_id: bool = False) -> Any:
        """Run ``fn`` unless ``name`` is known unavailable; a removal status marks it so and raises
        :class:`Unavailable`. Other errors propagate untouched (they say nothing about the capability).
        ``known_id``: the requested id is known to exist, so a 404 is a removal too."""
        if name not in CAPABILITIES:
            raise KeyError(f"unknown capability {name!r}")
        if self.known.get(name) is False:
            raise Unavailable(name)
        try:
            out = fn()
        except ApiError as e:
            if e.status in CAPABILITIES[name] or (known_id and e.status == 404):
                self._set(name, False, e.status)
                raise Unavailable(name, e.status) from e
            raise
        self._set(name, True)
        return out

    def as_dict(self) -> dict[str, bool | None]:
        """Every capability: True/False once used this run, None when never needed."""
        return {k: self.known.get(k) for k in CAPABILITIES}

    def probe_all(self, api: Any, *, artist_id: str, track_id: str, editorial_playlist_id: str,
                  playlist_id: str | None = None) -> dict[str, bool | None]:
        """Probe every capability with one cheap call each (ids must exist). Returns :meth:`as_dict`."""
        probes = {
            "artists_batch": lambda: api.call("artists", api.sp.artists, [artist_id]),
            "tracks_batch": lambda: api.call("tracks", api.sp.tracks, [track_id]),
            "top_tracks": lambda: api.call("top-tracks", api.sp.artist_top_tracks, artist_id, api.market),
            "audio_features": lambda: api.call("audio-features", api.sp.audio_features, [track_id]),
            "editorial_playlists": lambda: api.call("playlist-items", api.sp.playlist_items, editorial_playlist_id,
                                                    limit=1),
        }
        if playlist_id:
            probes["playlist_items"] = lambda: api.call("playlist-items", api.sp.playlist_items, playlist_id,
                                                        limit=1)
        for name, fn in probes.items():
            if name in self.known:
                continue
            try:
                self.attempt(name, fn, known_id=name == "editorial_playlists")  # the Global Top 50 exists
            except Unavailable:
                pass
        return self.as_dict()
