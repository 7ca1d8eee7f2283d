"""``sori run nightly|weekly|listening`` and ``sori charts import``: run the producers on the running local stack.

* ``sori run nightly [--mode extended|development] [--catalog] [--artist NAME ...] [--limit N]`` — the catalog
  refresh; ``--catalog`` first adds every artist of the emulator's catalog to RDS (the full-catalog demo).
* ``sori run weekly [--mode …] [--country CC ...] [--week YYYY-MM-DD]`` — the weekly charts.
* ``sori run listening [--job recently_played|followed_artists|both]`` — the listening history.
* ``sori charts import FILE [--country CC --week YYYY-MM-DD]`` — upload a charts.spotify.com weekly CSV to
  ``landing/charts/`` on the stack's bucket and run the drop handler on it, as the S3 notification would.
* ``sori charts import|redrive --stack NAME`` (or ``$SORI_STACK``) — the same on a deployed stack: the file goes to
  its bucket (its notification runs ChartsDropFunction), parked drops run again on its ChartsDropFunction.

Each prints the run summary (``--json`` for the raw dict); runs over a few seconds show a progress bar.
:func:`run_producer` is the same thing as a function, for ``sori demo``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from local.commands.cloud import DEPLOYED_HELP, deployed_stack

run_app = typer.Typer(help="Run a producer on the running local stack.", no_args_is_help=True)
charts_app = typer.Typer(help="Weekly chart CSV drops.", no_args_is_help=True)
console = Console()
notes = Console(stderr=True)  # progress and notices: stdout stays the summary (JSON with --json)

#: Locally the emulator has no rate limit unless one is configured; Spotify's real budget would make a
#: full-catalog demo take half an hour, so the CLI lifts ours unless the environment says otherwise.
LOCAL_BUDGET_PER_30S = "20000"


def use_stack(mode: str | None = None) -> dict:
    """Point this process at the running stack (its env), optionally switching the emulator's mode."""
    import requests

    from local.stack import apply_env, load_stack

    info = load_stack(required=True)
    apply_env(info)
    spotify = info.get("spotify") or ""
    os.environ.setdefault("SORI_CHARTS_CSV_URL", spotify + "/_emulator/charts")
    os.environ.setdefault("SORI_SPOTIFY_BUDGET_PER_30S", LOCAL_BUDGET_PER_30S)
    if mode:
        if mode not in ("extended", "development"):
            raise typer.BadParameter("mode must be extended or development")
        requests.post(spotify + "/_emulator/config", json={"mode": mode}, timeout=10).raise_for_status()
    from producers.runtime import logger
    from sori.settings import get_settings

    get_settings.cache_clear()
    logger.setLevel(os.environ.get("SORI_CLI_LOG_LEVEL", "WARNING"))  # the summary is printed; keep stdout clean
    return info


def seed_catalog_artists() -> int:
    """Add every emulator-catalog artist RDS does not know yet (never-refreshed, so the nightly picks them up)."""
    from local.emulator import load_catalog
    from sori.stores.mysql import ArtistStore, connect

    store = ArtistStore(connect())
    cat = load_catalog()
    have = store.get_many(list(cat.artists))
    new = [{"id": a.id, "name": a.name} for a in cat.artists.values() if a.id not in have]
    if new:
        store.upsert_artists(new, source="seed")
    return len(new)


def _progress(label: str, show: bool):
    """A context manager giving a ``progress(done, total)`` callback backed by a rich progress bar."""
    import contextlib

    @contextlib.contextmanager
    def cm():
        if not show:
            yield None
            return
        with Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=notes, transient=True) as p:
            task = p.add_task(label, total=None)

            def update(done: int, total: int) -> None:
                p.update(task, completed=done, total=total)
            yield update
    return cm()


def run_producer(name: str, event: dict | None = None, *, mode: str | None = None, progress: bool = True,
                 seed_catalog: bool = False) -> dict | list[dict]:
    """Run ``nightly``/``weekly``/``listening`` on the running stack; returns the summary (a list for both jobs)."""
    use_stack(mode)
    from producers.runtime import artist_store, open_run

    event = dict(event or {})
    if name == "nightly":
        from producers.catalog import run_catalog

        if seed_catalog:
            added = seed_catalog_artists()
            notes.print(f"added {added} catalog artists to RDS")
        run = open_run("catalog")
        with _progress("nightly catalog", progress) as cb:
            return run_catalog(event, run, artist_store(run.settings), progress=cb)
    if name == "weekly":
        from producers.charts import run_charts

        run = open_run("charts")
        with _progress("weekly charts", progress) as cb:
            return run_charts(event, run, artist_store(run.settings), progress=cb)
    if name == "listening":
        from producers.listening import run_listening

        jobs = ["recently_played", "followed_artists"] if event.get("job") in (None, "both") else [event["job"]]
        out = []
        for job in jobs:
            run = open_run("listening")
            out.append(run_listening({**event, "job": job}, run, artist_store(run.settings)))
        return out if len(out) > 1 else out[0]
    raise ValueError(f"unknown producer {name!r}")


def _show(summary: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    for s in summary if isinstance(summary, list) else [summary]:
        from rich.table import Table

        t = Table(title=f"{s.get('producer')} run", show_header=False)
        for k in ("mode", "fallbacks_used", "artists", "records", "kinesis", "calls", "reccobeats_calls",
                  "resumed_from", "stopped", "charts", "plays", "followed", "files", "rejected"):
            if k in s:
                t.add_row(k, json.dumps(s[k], ensure_ascii=False) if not isinstance(s[k], str) else s[k])
        console.print(t)


ModeOpt = typer.Option(None, "--mode", help="Switch the Spotify emulator first: extended | development")
JsonOpt = typer.Option(False, "--json", help="Print the raw summary JSON.")


@run_app.command("nightly")
def nightly(mode: str | None = ModeOpt, catalog: bool = typer.Option(
                False, "--catalog", help="Add every emulator-catalog artist to RDS first (full-catalog run)."),
            artist: list[str] = typer.Option([], "--artist", help="Refresh just these artist names."),
            limit: int | None = typer.Option(None, help="At most this many stale artists."),
            as_json: bool = JsonOpt) -> None:
    """The nightly catalog refresh (every stale artist in RDS)."""
    event: dict = {"artist_names": artist} if artist else {}
    if limit:
        event["limit"] = limit
    s = run_producer("nightly", event, mode=mode, progress=not as_json, seed_catalog=catalog)
    _show(s, as_json)
    assert isinstance(s, dict)  # a single job's summary
    raise typer.Exit(0 if not s.get("stopped") else 3)


@run_app.command("weekly")
def weekly(mode: str | None = ModeOpt,
           country: list[str] = typer.Option([], "--country", help="Only these chart countries (default: all 62)."),
           week: str | None = typer.Option(None, help="Chart week YYYY-MM-DD (default: this week)."),
           as_json: bool = JsonOpt) -> None:
    """The weekly charts: Global + 61 countries."""
    event: dict = {}
    if country:
        event["countries"] = country
    if week:
        event["week"] = week
    s = run_producer("weekly", event, mode=mode, progress=not as_json)
    _show(s, as_json)
    assert isinstance(s, dict)  # a single job's summary
    raise typer.Exit(0 if not s.get("stopped") else 3)


@run_app.command("listening")
def listening(mode: str | None = ModeOpt,
              job: str = typer.Option("both", help="recently_played | followed_artists | both"),
              as_json: bool = JsonOpt) -> None:
    """The listening history: recently played (cursor) and followed artists."""
    _show(run_producer("listening", {"job": job}, mode=mode, progress=False), as_json)


@charts_app.command("import")
def charts_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A weekly chart CSV."),
                  country: str | None = typer.Option(None, help="Country code, if the file name lacks it."),
                  week: str | None = typer.Option(None, help="Chart week YYYY-MM-DD, if the name lacks it."),
                  as_json: bool = JsonOpt,
                  stack_name: str | None = typer.Option(None, "--stack", help=DEPLOYED_HELP)) -> None:
    """Upload a charts.spotify.com weekly CSV to landing/charts/ and ingest it.

    On a deployed stack (``--stack``) the file is checked here first (country, week, a well-formed CSV: a bad one
    is not uploaded) and its bucket's notification runs ChartsDropFunction on it.
    """
    import boto3

    meta = {k: v for k, v in (("country", country), ("week", week)) if v}
    deployed = deployed_stack(stack_name)
    if deployed:
        _import_deployed(deployed, file, meta, as_json)
        return
    use_stack()
    from local.lambda_context import LocalLambdaContext
    from producers import charts as charts_fn
    from sori.settings import get_settings

    settings = get_settings()
    key = f"landing/charts/{file.name}"  # country/week travel as object metadata when the name lacks them
    boto3.client("s3").put_object(Bucket=settings.bucket, Key=key, Body=file.read_bytes(), Metadata=meta)
    event = {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": settings.bucket},
                                                         "object": {"key": key}}}]}
    s = charts_fn.s3_handler(event, LocalLambdaContext(function_name="sori-charts-drop"))
    _show(s, as_json)
    if s.get("rejected"):
        for r in s["rejected"]:
            notes.print(f"[red]rejected[/red] {r['error']}")
        raise typer.Exit(1)


def _import_deployed(info: dict, file: Path, meta: dict[str, str], as_json: bool) -> None:
    """``sori charts import --stack``: check the file, then put it where the stack's drop notification fires."""
    from local import cloud
    from sori.charts import ChartCSVError

    data = file.read_bytes()
    try:
        checked = cloud.check_chart_file(file.name, data, meta)
    except ChartCSVError as e:
        typer.echo(f"not uploaded: {e}", err=True)
        raise typer.Exit(1) from None
    url = cloud.upload_chart(info, file.name, data, meta)
    out = {"uploaded": url, **checked, "function": info["outputs"].get("ChartsDropFunctionName")}
    if as_json:
        print(json.dumps(out))
        return
    typer.echo(f"uploaded {url} ({checked['country']} {checked['week']}, {checked['rows']} rows); "
               f"{out['function']} ingests it (a rejected file lands under rejected/charts/ with its reason)")


@charts_app.command("redrive")
def charts_redrive(as_json: bool = JsonOpt,
                   stack_name: str | None = typer.Option(None, "--stack", help=DEPLOYED_HELP)) -> None:
    """Run chart drops again whose ingest failed through every retry (parked on ProducerDLQ with the S3 event).

    Rejected files stay where they are: fix the file and import it again. On a deployed stack (``--stack``) each
    drop runs again on its ChartsDropFunction (a synchronous invocation; the message goes once it succeeded).
    """
    from local import cloud

    deployed = deployed_stack(stack_name)
    report = cloud.charts_redrive(deployed) if deployed else _charts_redrive_local()
    if as_json:
        print(json.dumps(report.as_dict()))
        return
    typer.echo(f"{report.redriven} drop(s) run again, {report.failed} still failing (kept), "
               f"{report.received - report.redriven - report.failed} other message(s) left alone")


def _charts_redrive_local() -> Any:
    info = use_stack()
    from local.lambda_context import LocalLambdaContext
    from producers import charts as charts_fn
    from sori.dlq import reinvoke

    queue = info["deployed"]["functions"]["ChartsDropFunction"].get("async_on_failure_queue_url")
    if not queue:
        raise typer.BadParameter("ChartsDropFunction has no on-failure queue in this stack")
    return reinvoke(queue, lambda event: charts_fn.s3_handler(event, LocalLambdaContext(
        function_name="sori-charts-drop")))


def register(app: typer.Typer) -> None:
    app.add_typer(run_app, name="run")
    app.add_typer(charts_app, name="charts")


