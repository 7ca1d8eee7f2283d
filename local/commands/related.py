"""Related artists from the command line.

    sori run related                     # lake → profiles + co-occurrence → RDS (a new generation), on the stack
    sori related export [--format csv]   # the current generation: artist,related,rank,score (with names)
    sori related export --stack NAME     # the same from a deployed stack's MySQL (its outputs + secret, TLS)
    sori related show NAME               # one artist's related list with the reasons
    sori eval related [--source catalog|lake] [--k 10]   # listener-judgment figures as one JSON line

``sori eval related`` needs no stack with ``--source catalog`` (the default): it builds the same frames the
lake queries return straight from the emulator's catalog (each artist's top 10 tracks by popularity, one
collection per playlist). The label (majority ``playlist_genre``) is computed separately and never an input.
:func:`run_related` is ``sori run related`` as a function, for ``sori demo``.
"""
from __future__ import annotations

import csv
import json
import sys
from contextlib import closing

import typer

related_app = typer.Typer(help="Related artists in RDS.", no_args_is_help=True)
eval_app = typer.Typer(help="Quality evaluations.", no_args_is_help=True)


def catalog_frames(catalog=None, top: int = 10):
    """(tracks, members, genre_rows) from the emulator catalog, in the shapes of the lake queries.

    ``tracks``: artist_id, track_id, track_rank, features (an artist's top ``top`` tracks by popularity, what
    the top-tracks endpoint returns); ``members``: kind, collection_id, artist_id, collection_name (one row
    per playlist × artist); ``genre_rows``: artist_id, collection_id, genre — one per track membership, for
    the evaluation label only.
    """
    import pandas as pd

    from local.emulator import load_catalog
    from sori.related.profiles import PROFILE_FEATURES

    cat = catalog or load_catalog()
    feats = [f for f in PROFILE_FEATURES if f != "duration_ms"] + ["liveness", "key", "mode"]
    rows = []
    for aid, tids in cat.tracks_by_artist.items():
        for rank, tid in enumerate(tids[:top], 1):
            t = cat.tracks[tid]
            rows.append({"artist_id": aid, "track_id": tid, "track_rank": rank,
                         **{f: t.features.get(f) for f in feats}, "duration_ms": t.duration_ms})
    members, genres = [], []
    for p in cat.playlists.values():
        seen: set[str] = set()
        for tid in p.track_ids:
            aid = cat.tracks[tid].artist_id
            genres.append((aid, p.id, p.genre))
            if aid not in seen:
                seen.add(aid)
                members.append(("playlist", p.id, aid, p.name))
    return (pd.DataFrame(rows),
            pd.DataFrame(members, columns=["kind", "collection_id", "artist_id", "collection_name"]),
            pd.DataFrame(genres, columns=["artist_id", "collection_id", "genre"]))


def catalog_sources(catalog=None, *, weeks: int = 12, session_days: int = 60,
                    end_ms: int = 1_795_000_000_000) -> dict:
    """Every "put together" source the emulator serves, in the shape of ``related_collections.sql`` rows,
    plus artist genres and popularity — what the lake holds after a full extended-mode run, without a stack.

    ``playlist``: the catalog's public playlists (every credited artist of each track); ``collab``: tracks
    credited to several catalog artists; ``chart``: each country's weekly Top 50 over ``weeks`` weeks (one
    collection per country-week, so an artist's rows are its country × week fingerprint); ``session``: the
    listening user's plays over ``session_days`` days, split at 30-minute gaps.
    Returns ``{"tracks", "members", "genres", "popularity", "labels"}`` (labels: majority playlist genre, for
    the diagnostic only).
    """
    import datetime as dt

    import pandas as pd

    from local.emulator import Charts, Listener, load_catalog
    from sori.related.evaluate import majority_labels

    cat = catalog or load_catalog()
    tracks, _, genre_rows = catalog_frames(cat)
    rows: list[tuple] = []

    def add(kind: str, cid: str, name: str, tids) -> None:
        for tid in tids:
            for a in cat.credited_artists(tid):
                rows.append((kind, cid, a.id, name))

    for p in cat.playlists.values():
        add("playlist", p.id, p.name, p.track_ids)
    for t in cat.tracks.values():
        credited = cat.credited_artists(t)
        if len(credited) > 1:
            add("collab", t.id, t.name, [t.id])
    charts = Charts(cat)
    day = dt.datetime.fromtimestamp(end_ms / 1000, dt.UTC).date()
    for d in charts.defs.values():
        if d.country == "global":
            continue
        for w in range(weeks):
            wk = charts.week_index(day) - w
            add("chart", f"{d.chart_id}:{wk}", f"{d.name} {charts._week_monday(wk)}", charts.ranking(d.country, wk, 50))
    listener = Listener(cat)
    gap, sid, last = 30 * 60 * 1000, None, 0
    from local.emulator import SLOT_MS

    for slot in range(end_ms // SLOT_MS - session_days * 12, end_ms // SLOT_MS):
        for ms, tid, _ in listener.session(slot):
            if sid is None or ms - last > gap:
                sid = f"sori-listener:{ms}"
            last = ms
            add("session", sid, "", [tid])
    members = pd.DataFrame(rows, columns=["kind", "collection_id", "artist_id", "collection_name"])
    members = members.drop_duplicates(["kind", "collection_id", "artist_id"]).reset_index(drop=True)
    genres = pd.DataFrame([(a.id, g) for a in cat.artists.values() for g in a.genres],
                          columns=["artist_id", "genre"])
    return {"tracks": tracks, "members": members, "genres": genres,
            "popularity": {a.id: a.popularity for a in cat.artists.values()},
            "labels": majority_labels(genre_rows)}


def _use_stack() -> dict:
    from local.stack import apply_env, load_stack

    info = load_stack(required=True)
    apply_env(info)
    return info


def run_related() -> dict:
    """Build and publish related artists from the running stack's lake (DuckDB) into its MariaDB."""
    _use_stack()
    from consumers.related_builder.build import build
    from sori.settings import get_settings

    return build(get_settings())


def run_command() -> None:
    """Related artists: lake → profiles + co-occurrence → a new RDS generation, swapped in atomically."""
    print(json.dumps(run_related(), ensure_ascii=False, default=str))


_STACK_HELP = ("A deployed stack (default $SORI_STACK): its MySQL (MysqlEndpoint/MysqlPort/MysqlDatabaseName "
               "outputs, credentials from MysqlSecretArn), over verified TLS.")
_CA_HELP = "CA bundle that verifies the deployed database's certificate (default: the RDS bundle in sori/certs)."


@related_app.command("export")
def export(fmt: str = typer.Option("csv", "--format", help="csv | json"),
           limit: int | None = typer.Option(None, help="At most this many artists."),
           url: str | None = typer.Option(None, help="mysql://… (default: the running stack's)"),
           stack_name: str | None = typer.Option(None, "--stack", help=_STACK_HELP),
           ssl_ca: str = typer.Option("", "--ssl-ca", help=_CA_HELP)) -> None:
    """Print the current generation as ``artist,related,rank,score`` with artist names."""
    with closing(_connect(url, _deployed(url, stack_name), ssl_ca)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT a.name AS artist, b.name AS related, r.artist_id, r.related_id, r.`rank`, r.score"
            " FROM related_generation g JOIN related_artists r ON r.generation = g.generation"
            " LEFT JOIN artists a ON a.id = r.artist_id LEFT JOIN artists b ON b.id = r.related_id"
            " WHERE g.id = 1 ORDER BY a.name, r.artist_id, r.`rank`")
        rows = cur.fetchall()
        conn.rollback()
    if limit:
        keep = list(dict.fromkeys(r["artist_id"] for r in rows))[:limit]
        rows = [r for r in rows if r["artist_id"] in set(keep)]
    if fmt == "json":
        for r in rows:
            print(json.dumps({k: r[k] for k in ("artist", "related", "artist_id", "related_id", "rank", "score")},
                             ensure_ascii=False))
        return
    if fmt != "csv":
        raise typer.BadParameter("format must be csv or json")
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["artist", "related", "rank", "score"])
    for r in rows:
        w.writerow([r["artist"] or r["artist_id"], r["related"] or r["related_id"], r["rank"],
                    f"{r['score']:.6f}"])


@related_app.command("show")
def show(name: str, url: str | None = typer.Option(None, help="mysql://… (default: the running stack's)"),
         stack_name: str | None = typer.Option(None, "--stack", help=_STACK_HELP),
         ssl_ca: str = typer.Option("", "--ssl-ca", help=_CA_HELP)) -> None:
    """One artist's current related list, with why each is related."""
    from sori.stores.mysql import ArtistStore, RelatedStore
    from sori.text import normalize

    with closing(_connect(url, _deployed(url, stack_name), ssl_ca)) as conn:
        hits = ArtistStore(conn).find_by_name_norm(normalize(name)) or ArtistStore(conn).find_by_alias(normalize(name))
        if not hits:
            raise typer.BadParameter(f"no artist named {name!r}")
        related = RelatedStore(conn).current(hits[0]["id"])
    for r in related:
        print(json.dumps({"rank": r["rank"], "name": r["name"], "score": r["score"], "reason": r["reason"]},
                         ensure_ascii=False))


def print_top(names, *, url: str | None = None, console=None, lang: str = "en") -> dict:
    """Each named artist's current top-10 with its reason line (KR and EN); returns ``{name: [(related,
    ko, en)]}``."""
    from sori.related.reasons import render
    from sori.stores.mysql import ArtistStore, RelatedStore
    from sori.text import normalize

    out: dict = {}
    with closing(_connect(url)) as conn:
        for name in names:
            hits = ArtistStore(conn).find_by_name_norm(normalize(name))
            rel = RelatedStore(conn).current(hits[0]["id"]) if hits else []
            out[name] = [(r["name"] or r["related_id"], render(r["reason"], "ko"), render(r["reason"], "en"))
                         for r in rel[:10]]
            conn.rollback()
    for name, rows in out.items():
        lines = [f"{i}. {n} — {en} / {ko}" for i, (n, ko, en) in enumerate(rows, 1)]
        text = f"{name}:\n  " + "\n  ".join(lines or ["(no related artists)"])
        (console.print(text) if console else print(text))
    return out


def _deployed(url: str | None, stack_name: str | None) -> dict | None:
    """The deployed stack ``--stack`` or ``$SORI_STACK`` names, unless ``--url`` says where to connect."""
    from local.commands.cloud import deployed_stack

    return None if url else deployed_stack(stack_name)


def _connect(url: str | None, deployed: dict | None = None, ssl_ca: str = ""):
    """A connection of its own (closed by the caller): ``url``; else a deployed stack's database (host, port,
    database and secret from its outputs, TLS verified); else ``SORI_MYSQL_URL``; else the local stack's."""
    import os

    from sori.settings import Settings
    from sori.stores.mysql import connection_params, open_connection

    if url:
        return open_connection(url)
    if deployed:
        import pymysql

        from local.cloud import mysql_settings

        settings = mysql_settings(deployed, ssl_ca)
        try:
            return open_connection(connection_params(settings))
        except pymysql.err.OperationalError as e:
            typer.echo(f"sori: cannot reach {deployed['stack']}'s MySQL at {settings.mysql_host}:"
                       f"{settings.mysql_port} over TLS: {e}. A database in the stack's private subnets is reachable "
                       f"only from inside its VPC (see README, Operating a deployed stack).", err=True)
            raise typer.Exit(2) from None
    if not os.environ.get("SORI_MYSQL_URL"):
        _use_stack()
    return open_connection(connection_params(Settings.from_env()))


@eval_app.command("related")
def eval_related(source: str = typer.Option("catalog", help="catalog (no stack needed) | lake (running stack)"),
                 k: int = typer.Option(10, help="Related artists per artist.")) -> None:
    """Listener-judgment p@k / nDCG@k (held-out playlists and sessions) of random, audio, each source and the
    learned blend, as one JSON line; genre agreement only as a labelled diagnostic."""
    from sori.related.listeners import evaluate_blend
    from sori.settings import get_settings

    if source == "catalog":
        src = catalog_sources()
        tracks, members, genres = src["tracks"], src["members"], src["genres"]
        extra = {"popularity": src["popularity"], "labels": src["labels"]}
    elif source == "lake":
        _use_stack()
        from consumers.related_builder.build import load_frames, load_genres
        from sori.query import engine_for

        get_settings.cache_clear()
        engine = engine_for(get_settings())
        tracks, members, _ = load_frames(engine, get_settings())
        genres, extra = load_genres(engine, get_settings()), {}
    else:
        raise typer.BadParameter("source must be catalog or lake")
    result = evaluate_blend(tracks, members, genres, k=k, **extra)
    result["source"] = source
    print(json.dumps(result))


def register(app: typer.Typer) -> None:
    from local.commands.producers import run_app

    run_app.command("related")(run_command)
    app.add_typer(related_app, name="related")
    app.add_typer(eval_app, name="eval")
