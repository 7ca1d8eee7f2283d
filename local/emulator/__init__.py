"""Spotify Web API emulator (dev-only) and the compact catalog it serves.

Catalog
-------
``load_catalog(path=None) -> Catalog`` loads ``local/data/catalog.json.gz`` (built by ``local/data/build_catalog.py``
from the TidyTuesday 2020-01-21 Spotify sample, MIT; attribution in ``local/data/ATTRIBUTION.md``). The default
catalog is cached: repeated calls return the same object. ``Catalog`` gives plain dict lookups:

- ``artists[id] -> Artist(id, name, genres, popularity, followers)``
- ``tracks[id] -> Track(id, name, artist_id, popularity, album, duration_ms, features)``; ``features`` is the
  Spotify audio-features dict (``time_signature`` = 4), ``album`` an ``Album(id, name, release_date, image_url)``
- ``albums[id]``, ``playlists[id] -> Playlist(id, name, genre, subgenre, track_ids, labels)``
- ``tracks_by_artist[artist_id]`` (track ids, most popular first), ``playlists_by_artist[artist_id]``,
  ``playlists_by_track[track_id]``
- ``name_index[normalize(name)] -> (artist ids…)`` (display names and Hangul aliases); ``korean_names[artist_id]``
- helpers: ``find_artist(name)``, ``artists_named(name)``, ``top_tracks(id, n)``, ``related_artists(id, n)``,
  ``track_genres(track_id)``, ``search_artists(q)``, ``search_tracks(q)``, ``is_korean(artist_id)``

Emulator
--------
``SpotifyEmulator(mode="extended", port=0, catalog=None, host="127.0.0.1")``: ``start()`` (background thread, returns
self), ``stop()``, context manager, ``url`` (``http://127.0.0.1:PORT``), ``token_url``, ``api_prefix`` (for
``spotipy.Spotify.prefix``), ``reccobeats_url``, ``chart_csv_url(cc, date)``, settable ``mode``,
``configure(**config)`` / ``config()``, ``stats()`` / ``reset_stats()``, ``spotipy_client(user=False, **kw)``.
Command line: ``python -m local.emulator --port N --mode extended|development``.

HTTP surface (JSON shaped like the real Web API):
``GET /authorize`` (the consent page, answered at once: a 302 to the redirect URI with a single-use ``code`` bound
to its client, redirect URI and PKCE challenge), ``POST /api/token`` (client_credentials, refresh_token,
authorization_code: PKCE verified, or the client secret); ``/v1/search``, ``/v1/artists/{id}``,
``/v1/artists?ids=``, ``/v1/artists/{id}/top-tracks``, ``/v1/artists/{id}/related-artists``,
``/v1/artists/{id}/albums``, ``/v1/albums/{id}``, ``/v1/albums?ids=``, ``/v1/tracks/{id}``, ``/v1/tracks?ids=``,
``/v1/audio-features?ids=``, ``/v1/audio-features/{id}``, ``/v1/recommendations``, ``/v1/playlists/{id}``,
``/v1/playlists/{id}/tracks``, ``/v1/playlists/{id}/items``, ``/v1/me``, ``/v1/me/playlists``,
``/v1/me/player/recently-played``, ``/v1/me/following``; ReccoBeats ``GET /reccobeats/v1/audio-features?ids=``;
charts.spotify.com stand-in ``GET /_emulator/charts/regional-<cc>-weekly-<YYYY-MM-DD>.csv``; control plane
``GET|POST /_emulator/config``, ``GET /_emulator/stats``, ``POST /_emulator/reset``.

/v1/me* need a *user* token (``grant_type=refresh_token`` with any non-empty refresh token, or a code from
``/authorize``); a client-credentials token there gets 401, as on the real service.

Config keys (``POST /_emulator/config`` JSON, any subset; the same keywords for ``configure``):
``mode`` (extended|development), ``latency_ms``, ``burst_429`` {count, retry_after, path_prefix},
``burst_5xx`` {count, status, path_prefix}, ``quota_exceeded`` (bool), ``rate_limit_per_30s`` (int|null),
``now_ms`` (int|null: freeze the emulator clock, used by recently-played and the weekly charts; null = real time),
``rotate_refresh_token`` (bool, default false: a refresh grant answers without a new refresh token, as Spotify
usually does; true: a new one every time), ``authorize`` (approve|deny: what the user answers on the consent page).
Faults apply to ``/v1/*`` and ``/reccobeats/*`` (``path_prefix`` narrows a burst, default ``/``); quota and the
rolling-window rate limit apply to ``/v1/*`` only; the token endpoint and ``/_emulator/*`` are never faulted.
Counters are keyed by route template (``"GET /v1/artists/{id}/top-tracks"``), count every answer including
errors and injected faults, and exclude ``/_emulator/*``.
"""
from __future__ import annotations

from local.emulator.api import ApiError, SpotifyApi
from local.emulator.catalog import (
                                    CATALOG_PATH,
                                    CHARTS_PATH,
                                    EDITORIAL_PREFIX,
                                    FEATURE_KEYS,
                                    KOREAN_NAMES_PATH,
                                    MODES,
                                    Album,
                                    Artist,
                                    Catalog,
                                    Playlist,
                                    Track,
                                    album_image_url,
                                    artist_image_url,
                                    compact,
                                    load_catalog,
                                    normalize,
                                    parse_query,
                                    tokens,
)
from local.emulator.charts import ChartDef, Charts, country_taste, load_chart_defs
from local.emulator.listener import HISTORY, SLOT_MS, USER_ID, Listener
from local.emulator.server import SpotifyEmulator, _Handler, main

__all__ = [
    "CATALOG_PATH", "CHARTS_PATH", "EDITORIAL_PREFIX", "FEATURE_KEYS", "HISTORY", "KOREAN_NAMES_PATH", "MODES",
    "SLOT_MS", "USER_ID", "Album", "ApiError", "Artist", "Catalog", "ChartDef", "Charts", "Listener", "Playlist",
    "SpotifyApi", "SpotifyEmulator", "Track", "_Handler", "album_image_url", "artist_image_url", "compact",
    "country_taste", "load_catalog", "load_chart_defs", "main", "normalize", "parse_query", "tokens",
]
