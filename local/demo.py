"""``sori demo``: the whole flow on the embedded stack, start to finish, with real data through real parts.

1. ``sori up`` — moto (the template deployed into it), MariaDB, the Spotify emulator, the Lambda runners, the webhook
2. weekly charts (Global + 61 countries) → Kinesis → sinks          (``producers/charts.py``)
3. listening history: recently played + followed artists            (``producers/listening.py``)
4. nightly catalog refresh over the catalog's artists               (``producers/catalog.py``)
5. drain: every record put so far is in the lake, DynamoDB or a DLQ (``local/mapping.py``)
6. related_builder: lake (DuckDB) → profiles + co-occurrence → MySQL, swapped atomically
7. ask the chatbot about an artist over HTTP, print the Kakao 2.0 JSON and a readable rendering
8. write the offline dashboard and print its path
9. ``sori down`` unless ``--keep``
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from local import stack

#: Whose related artists the demo prints after the build.
DEMO_ARTISTS = ("BTS", "BLACKPINK", "SHINee", "TWICE", "Queen", "Drake", "Coldplay")


class DemoError(RuntimeError):
    pass


def _step(console: Console, title: str, fn: Callable[[], Any]) -> Any:
    t0 = time.monotonic()
    console.rule(f"[bold]{title}")
    out = fn()
    console.print(f"[dim]{title}: {time.monotonic() - t0:.1f}s[/dim]")
    return out


def _records(summary: Any) -> int:
    items = summary if isinstance(summary, list) else [summary]
    return sum(int((s.get("kinesis") or {}).get("user_records", 0)) for s in items if isinstance(s, dict))


def run_demo(*, keep: bool = False, mode: str = "extended", artist: str = "BTS", limit: int | None = None,
             console: Console | None = None, dashboard: str | Path | None = None) -> int:
    """Run the whole flow; returns a process exit code (0 when the chatbot answered with the artist's tracks)."""
    console = console or Console()
    t_start = time.monotonic()
    info = _step(console, "1. local stack up", lambda: stack.up(mode=mode))
    console.print({k: info[k] for k in ("aws", "mysql", "spotify", "chatbot")})
    try:
        return _flow(info, mode=mode, artist=artist, limit=limit, console=console, dashboard=dashboard,
                     t_start=t_start)
    finally:
        if keep:
            console.print(f"[green]stack left running[/green] (chat page: {info.get('chat_page')}); "
                          "stop it with `sori down`")
        else:
            _step(console, "9. local stack down", stack.down)


def _flow(info: dict, *, mode: str, artist: str, limit: int | None, console: Console,
          dashboard: str | Path | None, t_start: float) -> int:
    from local.commands.producers import run_producer

    weekly = _step(console, "2. weekly charts", lambda: run_producer("weekly", mode=mode))
    console.print(f"charts: fallbacks {weekly.get('fallbacks_used')}, records {weekly.get('records')}")
    listening = _step(console, "3. listening history", lambda: run_producer("listening", {"job": "both"}))
    console.print(f"listening: {_records(listening)} records")
    # the artist we will ask about is refreshed first (as the chatbot's refresh queue would), then every stale one
    _step(console, f"4a. refresh {artist}", lambda: run_producer("nightly", {"artist_names": [artist]},
                                                                   progress=False))
    event = {"limit": limit} if limit else {}
    nightly = _step(console, "4b. nightly catalog refresh",
                    lambda: run_producer("nightly", event, seed_catalog=True))
    console.print(f"nightly: {nightly.get('artists')} artists, fallbacks {nightly.get('fallbacks_used')}, "
                  f"records {nightly.get('records')}, kinesis {nightly.get('kinesis')}")

    drained = _step(console, "5. drain the stream into the sinks", lambda: stack.drain_remote(info, timeout=600))
    if not drained.get("drained"):
        raise DemoError(f"the sinks did not catch up: {json.dumps(drained.get('status'))[:2000]}")
    for key, st in (drained.get("status") or {}).get("mappings", {}).items():
        console.print(f"  {key.split('|')[0]}: {st}")

    from local.commands.related import run_related

    related = _step(console, "6. related artists", run_related)
    console.print({k: related.get(k) for k in ("artists", "pairs", "generation", "modes", "collections",
                                               "missing_sources", "weights", "seconds", "seconds_rank",
                                               "seconds_score") if k in related})
    judged = related.get("listener_judgments") or {}
    console.print(f"[bold]listener-judgment score of this build[/bold] (held-out listener collections): "
                  f"p@10 {judged.get('blend')}, nDCG@10 {judged.get('ndcg_blend')} over {judged.get('seeds')} "
                  f"artists, {judged.get('held_out_collections')} held-out collections")
    from local.commands.related import print_top

    print_top(DEMO_ARTISTS, console=console)

    from local.commands.chatbot import post_skill, render_text, skill_payload

    status, reply = _step(console, f"7. ask the chatbot about {artist}",
                          lambda: post_skill(info["chatbot"], info["skill_secret"], skill_payload(artist)))
    console.print(Panel(json.dumps(reply, ensure_ascii=False, indent=2), title=f"Kakao 2.0 JSON (HTTP {status})"))
    console.print(Panel(render_text(reply), title="as a user sees it"))

    from local.commands.analytics import write_dashboard

    out = Path(dashboard or stack.sori_home() / "report.html")
    _step(console, "8. dashboard", lambda: write_dashboard(out))
    console.print(f"dashboard: [bold]{out.resolve()}[/bold] (opens offline)")
    console.print(f"[bold green]demo done[/bold green] in {time.monotonic() - t_start:.0f}s")

    from sori.kakao import validate_response

    problems = validate_response(reply) if isinstance(reply, dict) else ["not a JSON object"]
    if status != 200 or problems:
        console.print(f"[red]the chatbot's answer is not valid Kakao JSON: {problems}[/red]")
        return 1
    return 0
