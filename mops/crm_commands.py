"""`mops sandbox …` and `mops crm …`: the demo CRM, and reading what a CRM holds."""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Literal

import orjson
import typer

from mops import output
from tools.fields import CONTACT_FIELD_NAMES
from tools.seed import seed

sandbox_cli = typer.Typer(no_args_is_help=True, help="The sandbox CRM: a local CRM on SQL.")
crm_cli = typer.Typer(no_args_is_help=True, help="Read what a CRM holds.")

Target = Annotated[str, typer.Option(help="CRM connection (a name from mops.toml).")]


@sandbox_cli.command(name="seed")
def seed_command(
    contacts: Annotated[int, typer.Option(min=0, help="How many demo contacts.")] = 200,
    target: Target = "sandbox",
) -> None:
    """Fill the sandbox CRM with demo contacts and lists (deterministic).

    Example: mops sandbox seed --contacts 1000
    """
    from mops.common import opened

    with opened() as app:
        kind = app.settings.targets.get(target)
        if kind is not None and kind.kind != "sandbox":   # seeding writes without a plan
            output.fail(f"{target!r} is a {kind.kind} target: only a sandbox can be seeded")
        crm = app.connect(target)
        try:
            result = seed(crm, contacts)
        finally:
            crm.close()
        output.out.print(f"seeded {target}: {result}")


@crm_cli.command(name="export")
def export(
    target: Target = "sandbox",
    object: Annotated[Literal["contact", "list_membership"], typer.Option(
        help="What to export.")] = "contact",
    format: Annotated[Literal["jsonl", "csv"], typer.Option(help="Output format.")] = "jsonl",
) -> None:
    """Print every contact (or list membership) of a CRM, in key order.

    Example: mops crm export --object list_membership --format csv > members.csv
    """
    from mops.common import opened

    with opened() as app:
        crm = app.connect(target)
        try:
            if object == "contact":
                header = list(CONTACT_FIELD_NAMES)
                rows = ({"email": r.key, **r.fields} for r in crm.iter_contacts())
            else:
                header = ["list", "email"]
                rows = ({"list": n, "email": k} for n, k in crm.iter_memberships())
            _write(rows, header, format)
        finally:
            crm.close()


def _write(rows: object, header: list[str], format: str) -> None:
    if format == "jsonl":
        for row in rows:  # type: ignore[attr-defined]
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
        return
    writer = csv.DictWriter(sys.stdout, header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)  # type: ignore[arg-type]
