"""`mops utm-fix` and `mops backfill`: fixing values people typed by hand, as jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agents.backfill import BackfillParams
from agents.requests import JobRequest
from agents.utm_fix import UtmFixParams
from mops.common import AsUser, Json, Wait, opened, submit

Target = Annotated[str, typer.Option(help="CRM connection to fix (for --object contact).")]
Taxonomy = Annotated[Path, typer.Option(
    "--taxonomy", help="The team's UTM taxonomy (TOML: allowed values, aliases, patterns).")]


def utm_fix(
    taxonomy: Taxonomy,
    links: Annotated[Path | None, typer.Option(
        "--links", help="CSV of campaign links to fix (the file itself is never changed).")]
    = None,
    column: Annotated[str, typer.Option(help="The column of --links holding the links.")]
    = "url",
    out: Annotated[Path | None, typer.Option(
        help="Where the fixed links go (default: NAME.fixed.csv beside the input).")] = None,
    object_: Annotated[str | None, typer.Option(
        "--object", help="Fix the utm_* fields of CRM records instead: 'contact'.")] = None,
    target: Target = "sandbox", user: AsUser = None, as_json: Json = False,
    wait: Wait = False,
) -> None:
    """Plan a UTM fix: make utm_* values follow the taxonomy (case, spaces, aliases).

    Only utm_* parameters change, into a copy of --links (the file is kept).
    Values the taxonomy cannot fix are listed as needing a decision, never guessed.

    Examples:
      mops utm-fix --links ads.csv --taxonomy utm.toml --out ads.fixed.csv
      mops utm-fix --object contact --taxonomy utm.toml
    """
    if object_ not in (None, "contact"):
        raise typer.BadParameter(f"only 'contact' records have utm fields, not {object_!r}",
                                 param_hint="--object")
    with opened(show_progress=not as_json) as app:   # bad parameters: exit 2, one line
        params = UtmFixParams(
            taxonomy=str(taxonomy), links=None if links is None else str(links),
            column=column, out=None if out is None else str(out),
            object="contact" if object_ else None)
        request_target = params.target(target)
        app.runtime.connect(request_target).close()   # a bad target fails before the job
        submit(app, JobRequest(params=params, requested_by=app.settings.actor(user),
                               target=request_target), as_json, wait)


def backfill(
    field: Annotated[str, typer.Argument(help="The contact field to fill, e.g. country.")],
    object_: Annotated[str, typer.Option("--object", help="Records to fill: 'contact'.")]
    = "contact",
    from_field: Annotated[str | None, typer.Option(
        "--from", help="Copy the value of this field.")] = None,
    value: Annotated[str | None, typer.Option("--value", help="Set this value.")] = None,
    derive: Annotated[str | None, typer.Option(
        "--derive", help="Derive it: country_from_phone, country_from_email_tld, "
                         "company_from_email_domain, lead_source_from_utm.")] = None,
    map_file: Annotated[Path | None, typer.Option(
        "--map", help="Look it up in a CSV with columns named FIELD and --key.")] = None,
    key: Annotated[str | None, typer.Option(
        "--key", help="With --map: the field whose value is looked up.")] = None,
    where: Annotated[str | None, typer.Option(
        "--where", help="Only records matching, e.g. \"country is empty and "
                        "lead_source = 'Expo'\".")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Also replace values that are not empty.")] = False,
    taxonomy: Annotated[Path | None, typer.Option(
        "--taxonomy", help="UTM taxonomy (for --derive lead_source_from_utm).")] = None,
    target: Target = "sandbox", user: AsUser = None, as_json: Json = False,
    wait: Wait = False,
) -> None:
    """Plan a backfill: fill one field of records that have it empty.

    Only empty values are filled unless --overwrite is given.
    A record the rule cannot decide is left as it is and counted.

    Examples:
      mops backfill country --derive country_from_phone --where "country is empty"
      mops backfill company --map domains.csv --key website
      mops backfill lead_source --value Expo --where "utm_campaign = expo-26"
    """
    if object_ != "contact":
        raise typer.BadParameter(f"only 'contact' records can be filled, not {object_!r}",
                                 param_hint="--object")
    with opened(show_progress=not as_json) as app:
        params = BackfillParams(
            field=field, from_field=from_field, value=value, derive=derive,
            map_file=None if map_file is None else str(map_file), key=key, where=where,
            overwrite=overwrite, taxonomy=None if taxonomy is None else str(taxonomy))
        app.connect(target).close()
        submit(app, JobRequest(params=params, requested_by=app.settings.actor(user),
                               target=target), as_json, wait)
