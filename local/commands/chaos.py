"""``sori chaos --records N [--seed S] [--json]``: the whole local flow under injected faults, reconciled.

Starts its own private local stack (it does not need or touch `sori up`), runs every fault in
:mod:`local.chaos`, prints ``produced, landed_lake, landed_dynamo, lost, duplicated, dead_lettered, poison,
blocked_shards`` and exits 1 unless lost = duplicated = blocked_shards = 0, dead_lettered = poison and every
configured fault actually fired.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys

import typer

HEADLINE = ("produced", "landed_lake", "landed_dynamo", "lost", "duplicated", "dead_lettered", "poison",
            "blocked_shards")


def run_quietly(cfg, *, verbose: bool = False):
    """Run the chaos harness with its logs on stderr (stdout stays the report)."""
    from local.chaos import run_chaos

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    def say(s: str) -> None:
        print(f"[chaos] {s}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        sink = sys.stderr if verbose else stack.enter_context(open(os.devnull, "w"))
        stack.enter_context(contextlib.redirect_stdout(sink))
        return run_chaos(cfg, say=say)


def register(app: typer.Typer) -> None:
    @app.command("chaos")
    def chaos(records: int = typer.Option(20_000, "--records", "-n", help="synthetic user records to push"),
              seed: int = typer.Option(7, help="random seed (faults, records)"),
              as_json: bool = typer.Option(False, "--json", help="print one JSON line"),
              mode: str = typer.Option("extended", help="Spotify emulator mode: extended | development"),
              verbose: bool = typer.Option(False, "--verbose", "-v", help="function logs on stderr")) -> None:
        """Push N records through the local flow with faults injected; reconcile; non-zero exit on any loss."""
        from local.chaos import ChaosConfig

        report = run_quietly(ChaosConfig(records=records, seed=seed, mode=mode), verbose=verbose)
        if as_json:
            print(json.dumps(report.as_dict(), default=str, ensure_ascii=False))
        else:
            from rich.console import Console
            from rich.table import Table

            t = Table(title=f"sori chaos: {records} records, seed {seed} ({report.seconds:.0f} s)")
            t.add_column("figure")
            t.add_column("value", justify="right")
            for k in HEADLINE:
                t.add_row(k, str(getattr(report, k)))
            t.add_row("faults", ", ".join(f"{k}{'' if v.get('fired') else ' (did not fire)'}"
                                          for k, v in report.faults.items() if v.get("required")))
            Console().print(t)
            Console().print("[green]OK[/green]" if report.ok else
                            f"[red]FAILED[/red] {json.dumps(report.as_dict()['details'], default=str)[:2000]}")
        raise typer.Exit(0 if report.ok else 1)
