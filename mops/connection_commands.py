"""`mops connections …`: the configured CRM targets, and whether their credentials work."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.table import Table
from sqlalchemy.engine import make_url

from mops import output
from mops.settings import Settings, Target

connections_cli = typer.Typer(no_args_is_help=True,
                              help="CRM connections: list them, test their credentials.")
Json = Annotated[bool, typer.Option("--json", help="Print JSON, nothing else.")]
SECRETS = ("token", "client_secret")
NEEDS = {"sandbox": (), "hubspot": ("token",), "salesforce": ("token",),
         "marketo": ("client_secret",)}


def describe(name: str, target: Target) -> dict[str, Any]:
    """What a target is, for people and scripts: never a secret, only whether one is set."""
    url = target.url
    if url and target.kind == "sandbox":       # a database URL may hold a password
        url = make_url(url).render_as_string(hide_password=True)
    view: dict[str, Any] = {"name": name, "kind": target.kind, "url": url}
    for field in SECRETS:
        value = getattr(target, field)
        view[field] = "set" if isinstance(value, SecretStr) and value.get_secret_value() \
            else None
    if target.client_id:
        view["client_id"] = target.client_id
    if target.rate_limit is not None:
        view["rate_limit"] = target.rate_limit.model_dump()
    return view


@connections_cli.command(name="list")
def list_connections(as_json: Json = False) -> None:
    """List the configured targets (secrets are shown only as set or missing).

    Example: mops connections list --json
    """
    settings = Settings()
    views = [describe(name, target) for name, target in sorted(settings.targets.items())]
    if as_json:
        output.print_json(views)
        return
    table = Table("name", "kind", "url", "credentials", "rate limit")
    for v in views:
        secrets = ", ".join(f"{f} {v[f] or 'missing'}" for f in NEEDS[v["kind"]])
        limit = v.get("rate_limit")
        table.add_row(v["name"], v["kind"], v["url"] or "(default)", secrets or "-",
                      f"{limit['requests']} / {limit['per_seconds']:g} s" if limit else "-")
    output.out.print(table)


@connections_cli.command(name="test")
def test_connection(
    name: Annotated[str, typer.Argument(help="The target to test.")], as_json: Json = False,
) -> None:
    """Make one read-only call to a target: do its credentials and scopes work?

    Example: mops connections test hubspot
    """
    from mops.common import opened

    with opened() as app:
        crm = app.connect(name)
        try:
            fields = crm.describe_fields()
            crm.list_exists("mops connection test")
        finally:
            crm.close()
        result = {"name": name, "ok": True, "fields": len(fields)}
        if as_json:
            output.print_json(result)
        else:
            output.out.print(f"{name}: ok ({len(fields)} contact fields readable, lists "
                             "readable)")
