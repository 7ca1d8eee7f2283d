"""``sori template-plan`` and ``sori provision``: inspect and deploy template.yaml into a moto endpoint."""
from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("template-plan")
    def template_plan() -> None:
        """Show how template.yaml is split for moto: self-provisioned before/after the stack, stack, deferred."""
        from local.provision import load_template, package, plan, sam_transform

        cfn = sam_transform(package(load_template(), lambda data: "s3://artifacts/code.zip"))
        steps = plan(cfn)
        for part, ids in steps.items():
            typer.echo(f"{part} ({len(ids)}):")
            for lid in ids:
                typer.echo(f"  {lid:45s} {cfn['Resources'][lid]['Type']}")

    @app.command("provision")
    def provision(endpoint: str = typer.Option(..., help="moto server URL, e.g. http://127.0.0.1:5000"),
                  stack_name: str = typer.Option("sori-local", help="stack name (lower-case)"),
                  region: str = typer.Option("ap-northeast-2"),
                  parameter: list[str] = typer.Option([], "--parameter", "-p", help="Key=Value override")) -> None:
        """Deploy template.yaml into a running moto server and print the deployed-stack JSON."""
        from local.provision import deploy

        overrides = dict(p.split("=", 1) for p in parameter)
        typer.echo(json.dumps(deploy(endpoint, region=region, stack_name=stack_name, overrides=overrides), indent=1))
