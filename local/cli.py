"""The ``sori`` command line (dev-only; never deployed).

Stack commands live here; every other area adds its own in ``local/commands/<area>.py`` via ``register(app)``.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import sys

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="sori: Spotify → Kinesis → lake/DynamoDB/RDS → Kakao chatbot, on one laptop.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()

_PUBLIC = ("aws", "mysql", "spotify", "chatbot", "chat_page", "skill_secret", "mode", "pid")


@app.command()
def up(mode: str = typer.Option("extended", help="Spotify emulator mode: extended | development")) -> None:
    """Start the local stack in the background and print its endpoints (also in .sori/stack.json)."""
    from local import stack

    info = stack.up(mode=mode)
    _print_status(info, as_json=False)


@app.command()
def down() -> None:
    """Stop everything `sori up` started; nothing is left listening."""
    from local import stack

    console.print("stopped" if stack.down() else "nothing was running")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show the running stack's endpoints."""
    from local import stack

    info = stack.load_stack(required=False)
    if not info:
        if as_json:
            print(json.dumps({"running": False}))
        else:
            console.print("no local stack is running (`sori up` starts one)")
        raise typer.Exit(1)
    _print_status(info, as_json=as_json)


def _print_status(info: dict, as_json: bool) -> None:
    public = {"running": True, **{k: info.get(k) for k in _PUBLIC}}
    if as_json:
        print(json.dumps(public, ensure_ascii=False))
        return
    t = Table(title="sori local stack", show_header=False)
    for k, v in public.items():
        t.add_row(k, str(v))
    console.print(t)


@app.command()
def demo(keep: bool = typer.Option(False, "--keep", help="Leave the stack running afterwards."),
         mode: str = typer.Option("extended", help="Spotify emulator mode: extended | development"),
         artist: str = typer.Option("BTS", help="Who to ask the chatbot about at the end."),
         limit: int = typer.Option(0, help="Refresh at most this many catalog artists (0 = the whole catalog)."),
         out: str = typer.Option("", "--out", help="Dashboard file (default .sori/report.html).")) -> None:
    """The whole flow on the embedded stack: producers → Kinesis → sinks → related → chatbot (+ dashboard)."""
    from local.demo import run_demo

    code = run_demo(keep=keep, mode=mode, artist=artist, limit=limit or None, console=console,
                    dashboard=out or None)
    raise typer.Exit(code)


def _register_commands() -> None:
    import local.commands as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"local.commands.{mod.name}")
        except Exception as e:  # a broken area must not take the whole CLI down
            print(f"sori: commands from {mod.name} unavailable: {e}", file=sys.stderr)
            continue
        if hasattr(module, "register"):
            module.register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
