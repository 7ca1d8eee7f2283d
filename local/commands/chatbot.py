"""``sori ask`` and ``sori serve``: talk to the Kakao chatbot locally, in the terminal or in a browser chat page.

* ``sori ask TEXT [--json] [--lang en]`` posts one Kakao skill payload to the running stack's webhook (with the
  skill secret) and prints the reply rendered as text, or the raw Kakao JSON with ``--json``. Without a running
  stack it starts one in-process for the question and stops it afterwards.
* ``sori serve`` brings the stack up (or reuses the running one), makes sure the chatbot has a catalog to talk
  about, prints the chat page URL (``local/static/index.html``, served by the webhook at ``GET /``) and keeps
  everything up until Ctrl-C.

:func:`seed_world` is also what the chatbot's tests and benchmarks use: it loads the Spotify emulator's catalog
into the same stores the pipeline fills (MySQL ``artists`` + curated aliases + one related-artist generation,
DynamoDB top tracks), directly, without running the pipeline — for when you want to chat before `sori demo`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
SEED_RELATED_FOR = 300  # most popular artists that get related artists + top tracks when seeding
RELATED_PER_ARTIST = 10
TRACKS_PER_ARTIST = 5
# always given related artists when seeding (what people ask about first), on top of the most popular ones
HUB_NAMES = ("BTS", "BLACKPINK", "SHINee", "TWICE", "Red Velvet", "ITZY", "Mamamoo", "(G)I-DLE", "Stray Kids",
             "SEVENTEEN", "Billie Eilish", "Ariana Grande", "Post Malone", "Dua Lipa", "Monsta X")


# ----------------------------------------------------------------------------------------------------------------
# A world to chat about (tests, benchmarks, `sori serve --seed`)
# ----------------------------------------------------------------------------------------------------------------

def ensure_chatbot_resources(settings=None) -> dict[str, str]:
    """Create the DynamoDB top-tracks table and the refresh queue if they do not exist (a bare moto server);
    returns ``{"table": name, "queue_url": url}``. A deployed stack already has both."""
    import boto3

    from sori.settings import get_settings

    settings = settings or get_settings()
    ddb = boto3.client("dynamodb", region_name=settings.region)
    try:
        ddb.describe_table(TableName=settings.top_tracks_table)
    except ddb.exceptions.ResourceNotFoundException:
        ddb.create_table(TableName=settings.top_tracks_table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "artist_id", "AttributeType": "S"},
                                               {"AttributeName": "track_id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "artist_id", "KeyType": "HASH"},
                                    {"AttributeName": "track_id", "KeyType": "RANGE"}])
    queue_url = settings.refresh_queue_url
    if not queue_url:
        queue_url = boto3.client("sqs", region_name=settings.region).create_queue(
            QueueName="sori-refresh")["QueueUrl"]
    return {"table": settings.top_tracks_table, "queue_url": queue_url}


def _reason(catalog, a: str, b: str) -> dict:
    shared = sorted({catalog.playlists[p].name for p in catalog.playlists_by_artist.get(a, ())}
                    & {catalog.playlists[p].name for p in catalog.playlists_by_artist.get(b, ())})
    ga, gb = set(catalog.artists[a].genres), set(catalog.artists[b].genres)
    return {"shared": shared[:5], "features": ["genre"] if ga & gb else []}


def seed_world(*, catalog=None, settings=None, related_for: int | Iterable[str] = SEED_RELATED_FOR,
               with_related: bool = True, only: Iterable[str] | None = None,
               exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Load the emulator catalog into MySQL and DynamoDB so the chatbot has something to say.

    ``only``: artist names to load (default: the whole catalog); ``exclude``: names to leave out (artists only
    Spotify knows, for the chatbot to discover). ``related_for``: how many of the most popular
    loaded artists (plus :data:`HUB_NAMES`), or which ids, get related artists (one generation, from the
    emulator's similarity) and
    top tracks (theirs and their related artists'). Returns counts and the ids involved.
    """
    from local.emulator import load_catalog
    from sori.settings import get_settings
    from sori.stores import mysql as m
    from sori.stores.dynamo import TopTracksStore, top_track_item

    settings = settings or get_settings()
    catalog = catalog or load_catalog()
    if only is not None:
        ids = [a.id for n in only if (a := catalog.find_artist(n)) is not None]
    else:
        ids = list(catalog.artists)
    if exclude:
        from sori.text import normalize

        drop = {normalize(n) for n in exclude}
        ids = [i for i in ids if normalize(catalog.artists[i].name) not in drop]
    conn = m.connect(settings)
    m.migrate(conn)
    rows = [{"id": i, "name": catalog.artists[i].name, "image_url": catalog.artists[i].image_url,
             "genres": list(catalog.artists[i].genres), "popularity": catalog.artists[i].popularity,
             "followers": catalog.artists[i].followers, "source": "seed",
             "refreshed_at": dt.datetime.now(dt.UTC)} for i in ids]
    store = m.ArtistStore(conn)
    store.upsert_artists(rows, source="seed")
    aliases = m.seed_aliases(conn)
    known = set(ids)
    if isinstance(related_for, int):
        named = [a.id for n in HUB_NAMES if (a := catalog.find_artist(n)) is not None and a.id in known]
        hubs = list(dict.fromkeys(named + sorted(ids, key=lambda i: -catalog.artists[i].popularity)[:related_for]))
    else:
        hubs = [i for i in related_for if i in known]
    related_rows = []
    if with_related:
        for a in hubs:
            rel = [r.id for r in catalog.related_artists(a, RELATED_PER_ARTIST * 2) if r.id in known]
            for rank, r in enumerate(rel[:RELATED_PER_ARTIST], 1):
                related_rows.append({"artist_id": a, "related_id": r, "rank": rank,
                                     "score": round(1.0 - rank / (RELATED_PER_ARTIST + 1), 4),
                                     "reason": _reason(catalog, a, r)})
        if related_rows:
            m.RelatedStore(conn).write_generation(related_rows, dt.datetime.now(dt.UTC))
    ensure_chatbot_resources(settings)
    with_tracks = set(hubs) | {r["related_id"] for r in related_rows}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = []
    for a in with_tracks:
        for rank, t in enumerate(catalog.top_tracks(a, TRACKS_PER_ARTIST), 1):
            items.append(top_track_item({"artist_id": a, "track_id": t.id, "name": t.name, "album": t.album.name,
                                         "album_image": t.album.image_url,
                                         "url": f"https://open.spotify.com/track/{t.id}", "rank": rank,
                                         "artist_name": catalog.artists[a].name, "via": "seed"}, emitted_at=now))
    if items:
        import boto3

        TopTracksStore(settings.top_tracks_table, client=boto3.client("dynamodb", region_name=settings.region),
                       mode="batch").put_items(items)
    return {"artists": len(rows), "aliases": aliases.inserted + aliases.existing, "related_rows": len(related_rows),
            "hubs": hubs, "top_tracks": len(items)}


@contextlib.contextmanager
def chatbot_world(*, mysql_server: str | None = None, aws_endpoint: str | None = None, emulator=None,
                  mode: str = "extended", secret: str = "sori-local-skill-secret", webhook: bool = False,
                  **seed_kwargs: Any) -> Iterator[dict[str, Any]]:
    """Everything the chatbot needs, self-contained, for tests and benchmarks; torn down afterwards.

    Starts what is not given: a moto server (``aws_endpoint``), a Spotify emulator, a fresh MariaDB database on
    ``mysql_server`` (default: ``SORI_MYSQL_URL``'s server or the throwaway one); points this process's
    environment at them (restored on exit), seeds with :func:`seed_world` (``**seed_kwargs``), and with
    ``webhook=True`` serves ``chatbot.handler`` (and the chat page) over HTTP. Yields ``{"env", "secret",
    "seed", "emulator", "mysql_url", "queue_url", "url" (POST /skill, when webhook), "page"}``.
    """
    import os

    from chatbot import deps
    from local import mariadb
    from sori.settings import get_settings
    from sori.stores import mysql as m

    saved = dict(os.environ)
    moto = emu = hook = None
    url = None
    try:
        if aws_endpoint is None:
            from moto.server import ThreadedMotoServer

            from local.stack import free_port

            port = free_port()
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            moto.start()
            aws_endpoint = f"http://127.0.0.1:{port}"
        if emulator is None:
            from local.emulator import SpotifyEmulator

            emulator = emu = SpotifyEmulator(mode=mode).start()
        url = mariadb.fresh_database(mysql_server or mariadb.mysql_server_url(), prefix="sori_chat")
        tag = uuid.uuid4().hex[:8]
        env = {"AWS_ENDPOINT_URL": aws_endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "AWS_DEFAULT_REGION": "ap-northeast-2", "AWS_REGION": "ap-northeast-2", "SORI_MYSQL_URL": url,
               "SORI_TOP_TRACKS_TABLE": f"sori-top-tracks-{tag}", "SORI_REFRESH_QUEUE_URL": "",
               "SORI_SPOTIFY_API_URL": emulator.api_prefix, "SORI_SPOTIFY_TOKEN_URL": emulator.token_url,
               "SORI_SPOTIFY_CLIENT_ID": "sori-local", "SORI_SPOTIFY_CLIENT_SECRET": "sori-local-secret",
               "SORI_SKILL_SECRET": secret, "SORI_SPOTIFY_BUDGET_PER_30S": "100000",  # the emulator has no limit
               "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR")}
        for k in ("SORI_SKILL_SECRET_ARN", "SORI_SPOTIFY_SECRET_ARN", "SORI_MYSQL_SECRET_ARN", "SORI_MYSQL_HOST",
                  "AWS_PROFILE"):
            os.environ.pop(k, None)
        os.environ.update(env)
        get_settings.cache_clear()
        import boto3

        queue = boto3.client("sqs", region_name="ap-northeast-2").create_queue(QueueName=f"sori-refresh-{tag}")
        os.environ["SORI_REFRESH_QUEUE_URL"] = env["SORI_REFRESH_QUEUE_URL"] = queue["QueueUrl"]
        get_settings.cache_clear()
        deps.reset_backend()
        _reset_chatbot_caches()
        seed = seed_world(**seed_kwargs)
        info: dict[str, Any] = {"env": env, "secret": secret, "seed": seed, "emulator": emulator, "mysql_url": url,
                                "queue_url": env["SORI_REFRESH_QUEUE_URL"]}
        if webhook:
            from local.webhook import WebhookServer

            hook = WebhookServer("chatbot.handler.lambda_handler", static_dir=STATIC_DIR).start()
            info["url"] = hook.url + hook.route
            info["page"] = hook.url + "/"
        yield info
    finally:
        if hook is not None:
            hook.stop()
        deps.reset_backend()
        m.close_cached()
        if url:
            try:
                mariadb.drop_database(url)
            except Exception as e:  # pragma: no cover - best effort
                print(f"drop {url}: {e}", file=sys.stderr)
        if emu is not None:
            emu.stop()
        if moto is not None:
            moto.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        _reset_chatbot_caches()


def _reset_chatbot_caches() -> None:
    """Per-container caches of the chatbot (secret, refresh memo): a new world starts clean."""
    from chatbot import app as chat_app
    from chatbot import service

    chat_app._secret.cache_clear()
    service._last_refresh.clear()


# ----------------------------------------------------------------------------------------------------------------
# Talking to the webhook
# ----------------------------------------------------------------------------------------------------------------

def skill_payload(utterance: str, *, lang: str = "ko", user_id: str = "sori-local-user",
                  extra: dict | None = None) -> dict:
    """A Kakao i Open Builder skill payload, as Open Builder would POST it."""
    action: dict[str, Any] = {"id": "local", "name": "sori", "params": {}, "detailParams": {}}
    if extra:
        action["clientExtra"] = extra
    return {
        "intent": {"id": "local-fallback", "name": "폴백 블록", "extra": {}},
        "userRequest": {"timezone": "Asia/Seoul", "params": {"surface": "BuilderBotTest"},
                        "block": {"id": "local-block", "name": "폴백 블록"}, "utterance": utterance, "lang": lang,
                        "user": {"id": user_id, "type": "botUserKey", "properties": {}}},
        "bot": {"id": "sori-local", "name": "sori"},
        "action": action,
        "contexts": [],
    }


def post_skill(url: str, secret: str, payload: dict | bytes, timeout: float = 10.0) -> tuple[int, Any]:
    """POST to a skill endpoint; returns ``(status, decoded JSON or text)``."""
    import urllib.error
    import urllib.request

    data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", "X-Skill-Secret": secret})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def render_text(resp: dict) -> str:
    """A Kakao response as plain text: bubbles, cards, buttons and quick replies, the way a chat would show them."""
    lines: list[str] = []
    tpl = (resp or {}).get("template") or {}

    def list_card(c: dict, indent: str = "") -> None:
        lines.append(f"{indent}┌ {c.get('header', {}).get('title', '')}")
        for it in c.get("items", []):
            desc = f" — {it['description']}" if it.get("description") else ""
            link = (it.get("link") or {}).get("web")
            lines.append(f"{indent}│ • {it.get('title', '')}{desc}" + (f"  <{link}>" if link else ""))
        buttons(c, indent)
        lines.append(f"{indent}└")

    def buttons(c: dict, indent: str) -> None:
        for b in c.get("buttons", []):
            target = b.get("webLinkUrl") or b.get("messageText") or ""
            lines.append(f"{indent}│ [{b.get('label', '')}] {target}")

    for out in tpl.get("outputs", []):
        if "simpleText" in out:
            lines.append(out["simpleText"].get("text", ""))
        elif "listCard" in out:
            list_card(out["listCard"])
        elif "carousel" in out:
            car = out["carousel"]
            for i, c in enumerate(car.get("items", []), 1):
                if car.get("type") == "listCard":
                    list_card(c, f"{i}. ")
                else:
                    lines.append(f"{i}. {c.get('title', '')} {c.get('description', '')}".rstrip())
                    buttons(c, "   ")
        else:
            kind, body = next(iter(out.items()))
            lines.append(f"({kind}) {body.get('title') or body.get('text') or body.get('altText') or ''}")
        lines.append("")
    qrs = tpl.get("quickReplies") or []
    if qrs:
        lines.append("  ".join(f"[{q.get('label', '')}]" for q in qrs))
    return "\n".join(lines).rstrip() + "\n"


def _catalog_is_empty() -> bool:
    from sori.stores import mysql as m

    conn = m.connect()
    m.migrate(conn)
    return not m.ArtistStore(conn).name_index()


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(text: str = typer.Argument(..., help="What to say to the chatbot, e.g. 'BLACKPINK 같은 가수 추천해줘'."),
            as_json: bool = typer.Option(False, "--json", help="Print the raw Kakao 2.0 JSON reply."),
            lang: str = typer.Option("ko", help="userRequest.lang: ko | en."),
            extra: str = typer.Option("", help="clientExtra JSON (what a tapped quick reply sends back).")) -> None:
        """Ask the Kakao chatbot one question through the local webhook and print its reply."""
        from local import stack

        payload = skill_payload(text, lang=lang, extra=json.loads(extra) if extra else None)
        info = stack.load_stack(required=False)
        temp = None
        if info is None:
            print("no local stack is running: starting one for this question (`sori serve` keeps one up)",
                  file=sys.stderr)
            import os

            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the handler runs in this process: keep
            temp = stack.LocalStack(consume=False)                     # its logs out of the printed reply
            info = temp.start()
        try:
            if temp is not None and _catalog_is_empty():
                seed_world()
            status, body = post_skill(info["chatbot"], info["skill_secret"], payload)
        finally:
            if temp is not None:
                temp.stop()
        if as_json or status != 200 or not isinstance(body, dict):
            print(json.dumps(body, ensure_ascii=False, indent=None if as_json else 2))
        else:
            sys.stdout.write(render_text(body))
        if status != 200:
            raise typer.Exit(1)

    @app.command()
    def serve(mode: str = typer.Option("extended", help="Spotify emulator mode: extended | development"),
              seed: bool | None = typer.Option(None, "--seed/--no-seed",
                                        help="Load the emulator catalog into the stores first "
                                             "(default: only when the catalog is empty)."),
              once: bool = typer.Option(False, "--once", help="Print the URLs and return (leave it running).")) -> None:
        """Keep the local stack and the chatbot webhook up, with a chat page in the browser; Ctrl-C stops it."""
        from local import stack

        started = stack.load_stack(required=False) is None
        info = stack.up(mode=mode)
        stack.apply_env(info)
        if seed or (seed is None and _catalog_is_empty()):
            n = seed_world()
            print(f"seeded {n['artists']} artists, {n['related_rows']} related rows, {n['top_tracks']} top tracks",
                  file=sys.stderr)
        page = f"{info['chat_page']}#secret={info['skill_secret']}"
        print(json.dumps({"chat_page": page, "chatbot": info["chatbot"], "skill_secret": info["skill_secret"]},
                         ensure_ascii=False), flush=True)
        if once:
            return
        print("chat page: " + page + "\n(Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            while stack.load_stack(required=False):
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
        finally:
            if started:
                stack.down()


