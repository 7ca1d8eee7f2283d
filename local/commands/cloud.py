"""``sori cloud …``: operate a deployed stack (the commands the placeholder-secret error names).

    sori cloud credentials --stack NAME   # store the Spotify app's client_id/client_secret (prompts when not given)
    sori cloud login --stack NAME         # authorization code + PKCE on a loopback redirect → refresh token secret
    sori cloud status --stack NAME        # skill URL + header, alarm states, DLQ depths, secrets still "set-me",
                                          # the last run of each schedule (time, outcome, error)

``--stack`` defaults to ``$SORI_STACK``; boto3 honours ``AWS_ENDPOINT_URL``/``AWS_REGION`` as usual.
"""
from __future__ import annotations

import json
import secrets

import typer

cloud = typer.Typer(help="Operate a deployed stack (secrets, login, health).", no_args_is_help=True)

_STACK = typer.Option(None, "--stack", help="CloudFormation stack name (default $SORI_STACK).")
_REGION = typer.Option(None, "--region", help="AWS region (default: boto3's).")


#: The ``--stack`` option of the commands that work on the local stack and on a deployed one.
DEPLOYED_HELP = "A deployed stack by name (default $SORI_STACK): act on its resources. Without one: the local stack."


def deployed_stack(stack: str | None, region: str | None = None) -> dict | None:
    """The resolved deployed stack when ``--stack`` or ``$SORI_STACK`` names one; None: use the local stack."""
    import os

    from local.cloud import STACK_ENV

    if not (stack or os.environ.get(STACK_ENV)):
        return None
    return _resolve(stack, region)


def _resolve(stack: str | None, region: str | None) -> dict:
    from local import cloud as ops

    try:
        return ops.resolve_stack(stack, region=region)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    except Exception as e:  # botocore ClientError: stack missing, no credentials …
        typer.echo(f"sori cloud: cannot read stack {stack or '$SORI_STACK'}: {e}", err=True)
        raise typer.Exit(2) from None


@cloud.command()
def credentials(stack: str | None = _STACK, region: str | None = _REGION,
                client_id: str | None = typer.Option(None, "--client-id", help="Spotify app client id."),
                client_secret: str | None = typer.Option(None, "--client-secret",
                                                         help="Spotify app client secret (prompted, hidden).")) -> None:
    """Store the Spotify app's client credentials in the stack's SpotifySecret."""
    from local import cloud as ops

    info = _resolve(stack, region)
    client_id = client_id or typer.prompt("Spotify client id")
    client_secret = client_secret or typer.prompt("Spotify client secret", hide_input=True)
    ops.set_credentials(info, client_id.strip(), client_secret.strip())
    typer.echo(f"stored client_id/client_secret in {ops.output(info, 'SpotifySecretArn')}")


@cloud.command()
def login(stack: str | None = _STACK, region: str | None = _REGION,
          port: int = typer.Option(8888, "--port", help="Loopback port of the redirect URI registered in the app."),
          timeout: float = typer.Option(300, "--timeout", help="Seconds to wait for the browser's callback.")) -> None:
    """Log the listening user in (authorization code + PKCE) and store the refresh token in ListeningTokenSecret."""
    from local import cloud as ops

    info = _resolve(stack, region)
    try:
        client_id = ops.spotify_client_id(info)
    except ValueError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    server = ops.callback_server(port)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    verifier, challenge = ops.pkce_pair()
    state = secrets.token_urlsafe(16)
    typer.echo(f"Open this URL in a browser (redirect URI {redirect_uri} must be registered in the app):")
    typer.echo(ops.authorize_url(client_id, redirect_uri, challenge, state))
    try:
        code = ops.wait_for_callback(server, state, timeout=timeout)
        tokens = ops.exchange_code(code, verifier, client_id, redirect_uri)
    except (RuntimeError, TimeoutError) as e:
        typer.echo(f"sori cloud login: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        server.server_close()
    ops.store_refresh_token(info, tokens["refresh_token"])
    typer.echo(f"stored refresh_token in {ops.output(info, 'ListeningTokenSecretArn')}")


@cloud.command()
def status(stack: str | None = _STACK, region: str | None = _REGION,
           as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Skill URL and header for Open Builder, alarm states, DLQ depths, secrets still holding "set-me", and the
    last run of each schedule."""
    from local import cloud as ops

    st = ops.status(_resolve(stack, region))
    if as_json:
        print(json.dumps(st, ensure_ascii=False))
        return
    for line in _status_lines(st):
        typer.echo(line)


def _status_lines(st: dict) -> list[str]:
    """The human-readable ``sori cloud status`` report."""
    lines = [f"stack {st['stack']} ({st['stack_status']})",
             "Open Builder skill:",
             f"  URL    {st['skill_url']}",
             f"  header {st['skill_header']['name']}: {st['skill_header']['value']}",
             "alarms:"]
    lines += [f"  {a['state']:<17} {a['name']}" for a in st["alarms"]] or ["  (none)"]
    lines.append("dead-letter queues (ApproximateNumberOfMessages):")
    lines += [f"  {n:>5} {k}" for k, n in st["dlq_depths"].items()] or ["  (none)"]
    lines.append("secrets:")
    for key, keys in st["placeholders"].items():
        lines.append(f"  {key}: " + (f"PLACEHOLDER {', '.join(keys)} (set-me)" if keys else "set"))
    lines.append("schedules (last run, from each function's CloudWatch log):")
    for r in st.get("last_runs", []):
        lines.append(f"  {r['schedule']:<27} {r['kst']:<14} {_run_text(r['last_run'])}  [{r['function']}]")
    return lines


def _run_text(run: dict | None) -> str:
    """``2026-11-20T03:00:02Z ok (12.3 s)``, with the error when there is one; ``never`` without a run."""
    if not run:
        return "never"
    text = f"{run['started_at']} {run['outcome']}"
    if run.get("duration_s") is not None:
        text += f" ({run['duration_s']} s)"
    if run.get("error"):
        text += f": {run['error'][:300]}"
    return text


def register(app: typer.Typer) -> None:
    """Add ``sori cloud`` to the CLI."""
    app.add_typer(cloud, name="cloud")
