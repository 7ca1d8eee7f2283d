"""``sori compact``, ``sori redrive``, ``sori drain``, ``sori query``: the consumers' side of the local stack.

All four talk to the running stack (``sori up``; endpoints from ``.sori/stack.json``). ``sori redrive --stack NAME``
(or ``$SORI_STACK``) works on a deployed stack instead: its sink DLQs and stream, from its outputs.
"""
from __future__ import annotations

import json

import typer

from local.commands.cloud import DEPLOYED_HELP, deployed_stack


def _stack() -> dict:
    from local import stack

    info = stack.load_stack()
    stack.apply_env(info)
    return info


def _sink_dlqs(deployed: dict) -> dict[str, str]:
    """``{function logical id: its DLQ url}`` for the functions that dead-letter (SORI_DLQ_URL set)."""
    return {lid: f["environment"]["SORI_DLQ_URL"] for lid, f in deployed.get("functions", {}).items()
            if (f.get("environment") or {}).get("SORI_DLQ_URL")}


def _redrive_local(function: str | None, max_messages: int | None, revalidate: bool) -> dict[str, dict]:
    """The local stack's sink DLQs back onto its stream."""
    info = _stack()
    from sori.dlq import redrive as do_redrive
    from sori.dlq import stream_sender
    from sori.settings import get_settings

    dlqs = _sink_dlqs(info["deployed"])
    if function:
        if function not in dlqs:
            raise ValueError(f"no DLQ for {function!r}; known: {sorted(dlqs)}")
        dlqs = {function: dlqs[function]}
    send = stream_sender(get_settings().stream_name)
    return {lid: do_redrive(url, send, max_messages=max_messages, revalidate=revalidate).as_dict()
            for lid, url in dlqs.items()}


def _print_table(table, as_json: bool, title: str | None = None) -> None:
    rows = table.to_pylist()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for name in table.column_names:
        t.add_column(name)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r.values()))
    Console().print(t)
    Console().print(f"{len(rows)} row(s)")


def register(app: typer.Typer) -> None:  # noqa: C901 - mccabe adds up the nested Typer commands it declares
    @app.command("query")
    def query(sql: str = typer.Argument(..., help='SQL over the lake tables and views, e.g. "SELECT count(*) FROM '
                                                  'plays", or a view name such as chart_audio_profile'),
              as_json: bool = typer.Option(False, "--json", help="One JSON array of row objects."),
              dt_from: str | None = typer.Option(None, help="Read partitions from this dt (inclusive)."),
              dt_to: str | None = typer.Option(None, help="Read partitions up to this dt (inclusive)."),
              dedup: bool = typer.Option(False, help="One row per record_id (as compaction leaves it).")) -> None:
        """Run SQL over the local lake with DuckDB (the local Athena) and print the result."""
        _stack()
        from sori.duck import LakeDuck
        from sori.views import install_duckdb, load_views

        views = {v.name for v in load_views()}
        if sql.strip() in views:  # a bare view name: show the view
            sql = f"SELECT * FROM {sql.strip()}"
        with LakeDuck(dt_from=dt_from, dt_to=dt_to, dedup=dedup) as duck:
            try:
                duck.register()
                install_duckdb(duck.con)  # the Athena views of glue/views/, as in the cloud
                result = duck.query(sql)
            except Exception as e:  # duckdb's message is the useful part
                typer.echo(f"query failed: {e}", err=True)
                raise typer.Exit(2) from None
        _print_table(result, as_json)

    @app.command("compact")
    def compact(table: str | None = typer.Option(None, help="Only this lake table."),
                dt: str | None = typer.Option(None, help="Only this partition (any age)."),
                min_age_days: int = typer.Option(1, help="Without --dt: partitions at least this old."),
                target_rows: int = typer.Option(1_000_000, help="Rows per compacted file."),
                as_json: bool = typer.Option(False, "--json")) -> None:
        """Merge small parquet files of lake partitions into few large ones (safe to interrupt)."""
        _stack()
        from consumers.s3_sink.compact import run
        from sori.lake import LakeStorage
        from sori.settings import get_settings

        reports = [r.as_dict() for r in run(LakeStorage.from_settings(get_settings()), table=table, dt_=dt,
                                               min_age_days=min_age_days, target_rows=target_rows)]
        if as_json:
            print(json.dumps(reports))
            return
        if not reports:
            typer.echo("nothing to compact")
        for r in reports:
            typer.echo(f"{r['table']} dt={r['dt']}: {r['inputs']} file(s) -> {r['outputs']}, "
                       f"{r['rows_out']} row(s), {r['duplicates_dropped']} duplicate(s) dropped")

    @app.command("redrive")
    def redrive(function: str | None = typer.Option(None, help="Only this function's DLQ (logical id)."),
                max_messages: int | None = typer.Option(None, help="Stop after this many messages."),
                force: bool = typer.Option(False, help="Replay even records that still fail validation."),
                as_json: bool = typer.Option(False, "--json"),
                stack_name: str | None = typer.Option(None, "--stack", help=DEPLOYED_HELP)) -> None:
        """Replay dead-lettered records onto the stream after a fix; each message is deleted once replayed."""
        from local import cloud

        deployed = deployed_stack(stack_name)
        try:
            out = cloud.redrive(deployed, function=function, max_messages=max_messages, revalidate=not force) \
                if deployed else _redrive_local(function, max_messages, not force)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
        if as_json:
            print(json.dumps(out))
            return
        for lid, r in out.items():
            typer.echo(f"{lid}: {r['redriven']} record(s) replayed, {r['deleted']} message(s) removed, "
                       f"{r['still_poison']} still poison (kept), {r['failed']} failed (kept)")

    @app.command("drain")
    def drain(timeout: float = typer.Option(120, help="Seconds to wait."),
              run: bool = typer.Option(False, "--run", help="Consume in this process (only when the stack runs no "
                                                           "mapping runner of its own).")) -> None:
        """Return once every record put so far has been processed (or dead-lettered)."""
        info = _stack()
        from local.mapping import MappingRunner, wait_drained
        from local.stack import sori_home

        ckpt = sori_home() / "checkpoints"
        if run:
            ok = MappingRunner(info["deployed"], checkpoint_dir=ckpt).drain(timeout=timeout)
        elif info.get("control"):  # the stack's own runner drains (batching windows flushed) and reports
            from local.stack import drain_remote

            ok = bool(drain_remote(info, timeout=timeout).get("drained"))
        else:
            ok = wait_drained(info["deployed"], checkpoint_dir=ckpt, timeout=timeout)
        if not ok:
            typer.echo(f"not drained after {timeout:.0f}s", err=True)
            raise typer.Exit(1)
        typer.echo("drained")
