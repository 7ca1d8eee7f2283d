"""Analytics commands: the views, ad-hoc queries, the offline dashboard and QuickSight as code.

* ``sori views list`` — every view in ``glue/views`` with what it reads; ``sori views show NAME`` prints the
  rendered ``CREATE OR REPLACE VIEW`` (paste it into the Athena console); ``sori views check`` runs the
  portability lint (common Trino/DuckDB subset).
* ``sori views deploy [--engine athena|duckdb]`` — Athena: ``CREATE OR REPLACE VIEW`` in the Glue database, in
  dependency order. DuckDB (local): the views are created on the lake and each is counted, which proves them
  against the current data.
* ``sori views query VIEW|SQL [--limit N] [--json] [--engine] [--sample]`` — a view's rows (or any SQL) on the
  stack's engine, Athena or sample data.
* ``sori dashboard --out report.html [--sample] [--check] [--screenshot PNG]`` — the self-contained dashboard.
* ``sori quicksight build|lint|deploy`` — regenerate, validate offline, deploy ``glue/quicksight/quicksight.yaml``.

Locally, commands use the running stack (``sori up``): DuckDB over its parquet lake. ``--sample`` uses sample
data from the Spotify emulator instead (no stack needed). ``--engine athena`` queries the cloud.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
notes = Console(stderr=True)
views_app = typer.Typer(help="Analytics views (glue/views): list, show, check, deploy.", no_args_is_help=True)
qs_app = typer.Typer(help="QuickSight as code (glue/quicksight/quicksight.yaml).", no_args_is_help=True)

ENGINE_HELP = "athena | duckdb (default: SORI_QUERY_ENGINE of the running stack, else duckdb)"


# ---------------------------------------------------------------------------------------------- engines

STACK_HELP = "A deployed stack (or SORI_STACK): Athena with that stack's Glue database, workgroup and bucket."


def _deployed_settings(name: str):
    """Settings for a deployed stack, by name: Athena, with the database/workgroup/bucket its outputs name."""
    from local.cloud import output, resolve_stack
    from sori.settings import Settings

    info = resolve_stack(name)
    return Settings.from_env({**os.environ, "SORI_QUERY_ENGINE": "athena",
                              "SORI_GLUE_DATABASE": output(info, "GlueDatabaseName"),
                              "SORI_ATHENA_WORKGROUP": output(info, "AthenaWorkGroupName"),
                              "SORI_BUCKET": output(info, "LakeBucketName"),
                              **({"AWS_REGION": info["region"]} if info.get("region") else {})})


def _settings(engine: str | None, stack_name: str | None = None):
    """Settings for ``engine``: a deployed stack's when named (``--stack``/``SORI_STACK``), else a running local
    stack's environment when there is one."""
    from local import stack
    from sori.settings import Settings, get_settings

    stack_name = stack_name or os.environ.get("SORI_STACK")
    if stack_name:
        if engine not in (None, "athena"):
            raise typer.BadParameter("a deployed stack is queried through Athena (--engine athena)")
        return _deployed_settings(stack_name)
    info = stack.load_stack(required=False)
    if info:
        stack.apply_env(info)
    settings = get_settings()
    engine = engine or (settings.query_engine if info else "duckdb")
    if engine not in ("athena", "duckdb"):
        raise typer.BadParameter(f"unknown engine {engine!r} (athena | duckdb)")
    if engine == "duckdb" and not info:
        raise typer.BadParameter("no local stack is running: `sori up` (or `sori demo --keep`) first, "
                                 "or use --sample / --engine athena")
    return Settings.from_env({**settings.extra, "SORI_QUERY_ENGINE": engine}) if engine != settings.query_engine \
        else settings


def open_query(*, engine: str | None = None, sample: bool = False,
               stack_name: str | None = None) -> tuple[Callable[[str], Any], str]:
    """``(query(sql) -> DataFrame, description)`` with every view available.

    ``sample``: sample lake data in memory; DuckDB: the local stack's lake (``sori.duck.LakeDuck``) with the
    views created on it; Athena: the Glue database, where ``sori views deploy`` created them.
    """
    from sori.views import install_duckdb

    if sample:
        from local.analytics_sample import sample_duckdb

        con = sample_duckdb()
        return (lambda sql: con.sql(sql).df()), "sample data (Spotify emulator charts)"
    settings = _settings(engine, stack_name)
    if settings.query_engine == "athena":
        from sori.query import AthenaEngine

        eng = AthenaEngine(settings)
        return (eng.query), f"Athena {settings.glue_database} ({settings.athena_workgroup})"
    from sori.duck import LakeDuck

    duck = LakeDuck(settings)
    duck.register()
    install_duckdb(duck.con)
    return (lambda sql: duck.con.sql(sql).df()), f"local lake s3://{settings.bucket}/{settings.lake_prefix}/"


def _cell(v: Any) -> str:
    import pandas as pd

    if v is None or (not isinstance(v, (list, tuple)) and not hasattr(v, "__len__") and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.isoformat()
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _print_frame(df, title: str, limit: int) -> None:
    """A table when it fits the terminal; otherwise one ``column: value`` block per row (like psql's \\x)."""
    head = f"{title} ({len(df):,} rows{'; first ' + str(limit) if len(df) > limit else ''})"
    rows = [[_cell(v) for v in row] for row in df.head(limit).itertuples(index=False)]
    width = sum(max([len(str(c))] + [len(r[i]) for r in rows]) + 3 for i, c in enumerate(df.columns))
    if width <= console.width:
        t = Table(title=head)
        for c in df.columns:
            t.add_column(str(c))
        for r in rows:
            t.add_row(*r)
        console.print(t)
        return
    console.print(f"[bold]{head}[/bold]")
    pad = max(len(str(c)) for c in df.columns)
    for n, r in enumerate(rows, start=1):
        console.rule(f"row {n}", align="left")
        for c, v in zip(df.columns, r, strict=False):
            console.print(f"{c!s:>{pad}} │ {v}", highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------- views

@views_app.command("list")
def views_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every view, in dependency order, with the tables and views it reads."""
    from sori.views import load_views

    views = load_views()
    if as_json:
        print(json.dumps([{"name": v.name, "depends": v.depends, "tables": v.tables, "description": v.description}
                          for v in views], ensure_ascii=False))
        return
    t = Table(title="analytics views (glue/views)")
    for c in ("view", "reads", "description"):
        t.add_column(c, overflow="fold")
    for v in views:
        t.add_row(v.name, ", ".join((*v.tables, *v.depends)), v.description)
    console.print(t)


@views_app.command("show")
def views_show(name: str, database: str | None = typer.Option(None, help="Qualify the view name.")) -> None:
    """Print a view's rendered CREATE OR REPLACE VIEW statement."""
    from sori.views import by_name, create_view_sql, load_views

    views = by_name(load_views())
    if name not in views:
        raise typer.BadParameter(f"unknown view {name!r} (known: {', '.join(views)})")
    print(create_view_sql(views[name], database) + ";")


@views_app.command("check")
def views_check() -> None:
    """Lint every view for SQL that Trino (Athena) and DuckDB do not share."""
    from sori.views import load_views, portability_problems

    bad = 0
    for v in load_views():
        problems = portability_problems(v.sql)
        bad += len(problems)
        console.print(f"{'[green]ok[/green]' if not problems else '[red]FAIL[/red]'} {v.name}")
        for p in problems:
            console.print(f"    {p}")
    raise typer.Exit(1 if bad else 0)


@views_app.command("deploy")
def views_deploy(engine: str | None = typer.Option(None, help=ENGINE_HELP),
                 only: list[str] | None = typer.Option(None, "--view", help="Only these (and what they read)."),
                 stack_name: str | None = typer.Option(None, "--stack", help=STACK_HELP)) -> None:
    """Create or replace the views: in Athena (Glue database) or on the local lake (DuckDB, each counted)."""
    from sori.views import deploy_athena, load_views, select

    views = select(load_views(), only or None)
    settings = _settings(engine, stack_name)
    if settings.query_engine == "athena":
        ids = deploy_athena(views, settings=settings)
        for v, qid in zip(views, ids, strict=False):
            console.print(f"[green]created[/green] {settings.glue_database}.{v.name}  (query {qid})")
        return
    query, source = open_query(engine="duckdb")
    t = Table(title=f"views on the {source}")
    t.add_column("view")
    t.add_column("rows", justify="right")
    for v in views:
        t.add_row(v.name, f"{int(query(f'SELECT count(*) AS n FROM {v.name}')['n'][0]):,}")
    console.print(t)


# ---------------------------------------------------------------------------------------------- query

@views_app.command("query")
def query_command(what: str = typer.Argument(..., help="A view name, or a SQL query."),
                  limit: int = typer.Option(20, help="Rows to print."),
                  as_json: bool = typer.Option(False, "--json", help="All rows as JSON lines."),
                  engine: str | None = typer.Option(None, help=ENGINE_HELP),
                  sample: bool = typer.Option(False, "--sample", help="Query sample data (no stack needed)."),
                  stack_name: str | None = typer.Option(None, "--stack", help=STACK_HELP)) -> None:
    """Rows of a view (or any SQL over lake tables and views): `sori views query chart_audio_profile`."""
    from sori.views import by_name, load_views

    sql = f"SELECT * FROM {what}" if what in by_name(load_views()) else what
    query, source = open_query(engine=engine, sample=sample, stack_name=stack_name)
    df = query(sql)
    for c in df.columns:  # DATE columns as YYYY-MM-DD, as the lake spells them
        if str(df[c].dtype).startswith("datetime64") and (df[c].dropna() == df[c].dropna().dt.normalize()).all():
            df[c] = df[c].dt.strftime("%Y-%m-%d")
    if as_json:
        for rec in json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False)):
            print(json.dumps(rec, ensure_ascii=False))
        return
    _print_frame(df, f"{what if sql != what else 'query'} — {source}", limit)


# ---------------------------------------------------------------------------------------------- dashboard

def write_dashboard(out: str | Path, *, sample: bool = False, engine: str | None = None) -> Path:
    """Write the dashboard from the running stack's lake (or sample data); returns its absolute path."""
    from local import dashboard as dash

    query, source = open_query(engine=engine, sample=sample)
    return dash.write_dashboard(out, query, source=source)


def dashboard_command(out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
                      sample: bool = typer.Option(False, "--sample", help="Sample data (no stack needed)."),
                      engine: str | None = typer.Option(None, help=ENGINE_HELP),
                      check: bool = typer.Option(False, "--check",
                                                 help="Open it in headless Chromium, offline: all plots drawn?"),
                      screenshot: Path | None = typer.Option(None, help="Also save a PNG (implies --check).")
                      ) -> None:
    """Write the self-contained offline dashboard (one HTML file, plotly inlined) and print its path."""
    from local import dashboard as dash

    path = write_dashboard(out, sample=sample, engine=engine)
    print(path)
    if check or screenshot:
        render = dash.headless_render(path, screenshot=screenshot)
        drawn = render.rendered_plots()
        for pid, ok in drawn.items():
            notes.print(f"{'[green]drawn[/green]' if ok else '[red]NOT DRAWN[/red]'} {pid}")
        for line in render.console:
            notes.print(f"[red]console[/red] {line}")
        if screenshot:
            notes.print(f"screenshot: {render.screenshot}")
        if render.console or not all(drawn.values()):
            raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------- QuickSight

@qs_app.command("build")
def qs_build() -> None:
    """Regenerate glue/quicksight/quicksight.yaml from the views (dataset columns) and the visual definitions."""
    from local import quicksight as qs

    console.print(f"wrote {qs.write_template()}")


@qs_app.command("lint")
def qs_lint() -> None:
    """Validate the template offline: cfn-lint (resource schemas) + column/field checks of the definition."""
    import yaml

    from local import quicksight as qs

    problems = qs.lint() + qs.check_definition(yaml.safe_load(qs.TEMPLATE_PATH.read_text(encoding="utf-8")))
    stale = qs.TEMPLATE_PATH.read_text(encoding="utf-8") != qs.render_template()
    if stale:
        problems.append("template is stale: run `sori quicksight build`")
    for p in problems:
        console.print(f"[red]{p}[/red]")
    console.print("[green]clean[/green]" if not problems else f"{len(problems)} problem(s)")
    raise typer.Exit(1 if problems else 0)


@qs_app.command("deploy")
def qs_deploy(principal: str = typer.Option(..., help="QuickSight user/group ARN that owns the assets."),
              viewer: str = typer.Option("", help="QuickSight user/group ARN to share the dashboard with."),
              stack_name: str = typer.Option("sori-quicksight", "--stack", help="Stack for the QuickSight assets."),
              main_stack: str = typer.Option("sori", help="The sori stack whose outputs name the bucket, "
                                                           "database and workgroup."),
              prefix: str = typer.Option("sori", help="Prefix of the QuickSight ids.")) -> None:
    """Deploy the views' QuickSight assets (after `sam deploy` and `sori views deploy --engine athena`)."""
    from local import quicksight as qs

    outs = qs.stack_outputs(main_stack)
    params = {"QuickSightPrincipalArn": principal, "DashboardViewerArn": viewer, "ResourcePrefix": prefix,
              "GlueDatabaseName": outs["GlueDatabaseName"], "AthenaWorkGroupName": outs["AthenaWorkGroupName"],
              "LakeBucketName": outs["LakeBucketName"]}
    result = qs.deploy(stack_name, params)
    console.print(result)


def register(app: typer.Typer) -> None:
    app.add_typer(views_app, name="views")
    app.add_typer(qs_app, name="quicksight")
    app.command("dashboard")(dashboard_command)
