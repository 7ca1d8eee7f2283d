"""Build ``local/data/catalog.json.gz``: the compact catalog the Spotify emulator serves.

Source: TidyTuesday 2020-01-21 ``spotify_songs.csv`` (MIT; see ``ATTRIBUTION.md``), a real sample of the Spotify
catalog collected with spotifyr. Only this builder reads the source file (``--src``, default
``/work/shared/datasets/tidytuesday_spotify_songs/spotify_songs.csv.gz``); every run of the project reads the
committed derivative. The output is deterministic: the same input gives byte-identical output.

    python local/data/build_catalog.py [--src PATH] [--out PATH]

Derivations (the dataset has no artist ids and one artist per row):
- artist id = 22 base62 chars of sha1(display name), Spotify-like and stable;
- artist genres = the playlist subgenres their tracks appear in (most frequent first, at most 5), plus ``k-pop``
  for the acts listed in ``korean_names.tsv``;
- artist popularity = max track popularity; followers = deterministic function of popularity and id;
- audio features as in the data; ``time_signature`` is absent in the data and set to 4 by the loader;
- album image URLs are derived from the album id by the loader (``local.emulator.album_image_url``).

Layout (``format: sori-catalog/1``), row arrays to stay small:
``artists``   [id, name, [genres], popularity, followers]
``albums``    [id, name, release_date]
``tracks``    [id, name, artist_index, popularity, album_index, duration_ms,
               [danceability, energy, key, loudness, mode, speechiness, acousticness, instrumentalness,
                liveness, valence, tempo]]
``playlists`` [id, name, genre, subgenre, [track_index, ...], [[genre, subgenre], ...]]
              track order as in the playlist; genre/subgenre = the first label seen, the last element lists every
              (genre, subgenre) label the data gives the playlist (8 playlists carry more than one)
"""
from __future__ import annotations

import argparse
import collections
import csv
import gzip
import hashlib
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = "/work/shared/datasets/tidytuesday_spotify_songs/spotify_songs.csv.gz"
DEFAULT_OUT = os.path.join(HERE, "catalog.json.gz")
KOREAN_NAMES = os.path.join(HERE, "korean_names.tsv")

FEATURES = ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
            "instrumentalness", "liveness", "valence", "tempo")
INT_FEATURES = {"key", "mode"}
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ATTRIBUTION = ("Derived from TidyTuesday 2020-01-21 spotify_songs.csv (rfordatascience/tidytuesday, MIT License, "
               "R4DS / DSLC community; collected from the Spotify Web API with spotifyr). "
               "See local/data/ATTRIBUTION.md.")


def base62_id(text: str, length: int = 22) -> str:
    """Spotify-like id: ``length`` base62 characters of sha1(text)."""
    n = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest(), "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(B62[r])
    return "".join(out)


def artist_id(name: str) -> str:
    return base62_id("artist:" + name)


def followers_for(popularity: int, aid: str) -> int:
    """Deterministic follower count, roughly exponential in popularity (pop 90 ≈ tens of millions)."""
    jitter = int(hashlib.sha1(("followers:" + aid).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF  # 0..1
    return round(10 ** (2.0 + popularity / 15.0) * (0.6 + 0.8 * jitter))


def _num(field: str, value: str):
    if field in INT_FEATURES:
        return int(float(value))
    v = float(value)
    return int(v) if v.is_integer() and field != "tempo" and field != "loudness" else v


def read_korean_artists(path: str = KOREAN_NAMES) -> set[str]:
    names = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            names.add(line.rstrip("\n").split("\t")[0])
    return names


def build(src: str) -> dict:
    with gzip.open(src, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    korean = read_korean_artists()

    artists: dict[str, dict] = {}          # name -> record
    albums: dict[str, list] = {}           # album id -> [id, name, date]
    tracks: dict[str, dict] = {}           # track id -> record
    playlists: dict[str, dict] = {}        # playlist id -> record (first seen name/genre/subgenre)
    subgenre_counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    skipped = 0
    for r in rows:
        if r["track_name"] == "NA" and r["track_artist"] == "NA":
            skipped += 1
            continue
        name = r["track_artist"]
        a = artists.setdefault(name, {"id": artist_id(name), "name": name, "popularity": 0})
        pop = int(r["track_popularity"])
        a["popularity"] = max(a["popularity"], pop)
        tid = r["track_id"]
        if tid not in tracks:
            alb = r["track_album_id"]
            albums.setdefault(alb, [alb, r["track_album_name"], r["track_album_release_date"]])
            tracks[tid] = {
                "id": tid, "name": r["track_name"], "artist": name, "popularity": pop, "album": alb,
                "duration_ms": int(r["duration_ms"]),
                "features": [_num(f, r[f]) for f in FEATURES],
            }
        # A playlist id may carry several (genre, subgenre) labels in the data; keep the first, as the
        # playlist's primary label, and keep its track order without duplicates.
        p = playlists.setdefault(r["playlist_id"], {
            "id": r["playlist_id"], "name": r["playlist_name"], "genre": r["playlist_genre"],
            "subgenre": r["playlist_subgenre"], "tracks": [], "seen": set(), "labels": []})
        label = [r["playlist_genre"], r["playlist_subgenre"]]
        if label not in p["labels"]:
            p["labels"].append(label)
        if tid not in p["seen"]:
            p["seen"].add(tid)
            p["tracks"].append(tid)
        subgenre_counts[name][r["playlist_subgenre"]] += 1

    artist_names = sorted(artists, key=lambda n: artists[n]["id"])
    artist_index = {n: i for i, n in enumerate(artist_names)}
    album_ids = sorted(albums)
    album_index = {a: i for i, a in enumerate(album_ids)}
    track_ids = sorted(tracks)
    track_index = {t: i for i, t in enumerate(track_ids)}

    out_artists = []
    for n in artist_names:
        a = artists[n]
        genres = [g for g, _ in sorted(subgenre_counts[n].items(), key=lambda kv: (-kv[1], kv[0]))][:5]
        if n in korean:
            genres = ["k-pop", *genres[:4]]
        out_artists.append([a["id"], n, genres, a["popularity"], followers_for(a["popularity"], a["id"])])
    out_tracks = [[t["id"], t["name"], artist_index[t["artist"]], t["popularity"], album_index[t["album"]],
                   t["duration_ms"], t["features"]] for t in (tracks[i] for i in track_ids)]
    out_playlists = [[p["id"], p["name"], p["genre"], p["subgenre"], [track_index[t] for t in p["tracks"]],
                      p["labels"]]
                     for p in (playlists[i] for i in sorted(playlists))]
    print(f"rows={len(rows)} skipped_na={skipped} artists={len(out_artists)} tracks={len(out_tracks)} "
          f"albums={len(album_ids)} playlists={len(out_playlists)}", file=sys.stderr)
    return {
        "format": "sori-catalog/1",
        "attribution": ATTRIBUTION,
        "features": list(FEATURES),
        "artists": out_artists,
        "albums": [albums[a] for a in album_ids],
        "tracks": out_tracks,
        "playlists": out_playlists,
    }


def write(catalog: dict, out: str) -> None:
    text = json.dumps(catalog, ensure_ascii=False, separators=(",", ":"))
    buf = io.BytesIO()
    # mtime=0 and no file name: byte-identical output for identical input.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    with open(out, "wb") as fh:
        fh.write(buf.getvalue())
    print(f"wrote {out} ({len(buf.getvalue()) / 1e6:.2f} MB)", file=sys.stderr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=DEFAULT_SRC)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    write(build(args.src), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
