"""Field backfill: fill one field of contacts from another field, a value, a rule or a map.

Only empty values are filled unless `overwrite` is set. `where` (the small filter language
of `tools.where`) narrows the contacts. A contact the rule cannot decide (no source value, a
free-mail domain, a phone with no country code, a key missing from the map) is left as it
is and counted as `undecided`. Each filled value is one update whose `before` is the value
it replaces, so a rollback empties the field again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import model_validator

from agents.kinds import PlanContext, Services
from agents.requests import OptionalFileName, Params
from tools.changes import Change
from tools.csv_source import open_csv
from tools.derive import Derivation, derivations, get_derivation
from tools.errors import CsvError, InputError
from tools.fields import CONTACT_FIELD_NAMES, WRITABLE_FIELDS
from tools.normalize import normalize_country
from tools.utm.taxonomy import load_taxonomy
from tools.where import parse_where

Fields = Mapping[str, str | None]
Rule = Callable[[Fields], str | None]
SOURCES = ("from_field", "value", "derive", "map_file")


class BackfillParams(Params):
    """Fill `field` of contacts from exactly one source: `from_field`, `value`, `derive`
    or `map_file` (with `key`, the field whose value is looked up in the map)."""

    kind: Literal["backfill"] = "backfill"
    field: str
    object: Literal["contact"] = "contact"
    from_field: str | None = None
    value: str | None = None
    derive: str | None = None
    map_file: OptionalFileName = None
    key: str | None = None
    where: str | None = None
    overwrite: bool = False
    taxonomy: OptionalFileName = None

    @model_validator(mode="after")
    def _one_source(self) -> BackfillParams:
        given = [s for s in SOURCES if getattr(self, s) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of --from, --value, --derive, --map "
                             f"(given: {', '.join(given) or 'none'})")
        if (self.map_file is None) != (self.key is None):
            raise ValueError("--map FILE and --key FIELD go together")
        return self


class BackfillKind:
    """Plans a backfill of one contact field."""

    name = "backfill"
    params = BackfillParams

    def __init__(self, services: Services | None = None, chunk_size: int = 5000) -> None:
        self.chunk_size = chunk_size

    def plan(self, params: BackfillParams, ctx: PlanContext) -> None:
        """Read every contact and propose a value for each empty (or every) `field`."""
        field = _writable(params.field, "FIELD")
        rule = _rule(params, field)
        where = parse_where(params.where) if params.where else None
        if where is not None:
            ctx.plan.notes.append(f"only contacts where {where}")
        how = _describe(params)
        for record in ctx.crm.iter_contacts():
            fields: dict[str, str | None] = {**record.fields, "email": record.key}
            if where is not None and not where.matches(fields):
                ctx.plan.count("not_matching")
                continue
            current = fields.get(field) or None
            if current is not None and not params.overwrite:
                ctx.plan.count("kept")
                continue
            value = rule(fields)
            if not value:
                ctx.plan.count("undecided")
            elif value == current:
                ctx.plan.count("unchanged")
            else:
                ctx.plan.add(0, Change(
                    op="update", object="contact", key=record.key, before={field: current},
                    after={field: value}, reason=how))


def _rule(params: BackfillParams, field: str) -> Rule:
    """The function that gives a contact's new value, from the one source given."""
    if params.value is not None:
        value = _conform(field, params.value)
        if value is None:
            raise InputError(f"{params.value!r} is not a valid {field}", field=field)
        return lambda fields: value
    if params.from_field is not None:
        source = _known(params.from_field, "--from")
        return lambda fields: _conform(field, fields.get(source) or "")
    if params.map_file is not None:
        return _map_rule(params.map_file, _known(params.key or "", "--key"), field)
    derivation = _derivation(params.derive or "", params.taxonomy)
    if derivation.field != field:
        raise InputError(f"{derivation.name} fills {derivation.field}, not {field}",
                         field=field)
    return derivation.derive


def _derivation(name: str, taxonomy: str | None) -> Derivation:
    if name != "lead_source_from_utm":
        return get_derivation(name)
    if taxonomy is None:
        raise InputError("lead_source_from_utm needs the UTM taxonomy: --taxonomy FILE")
    utm = load_taxonomy(taxonomy)
    lead_source = Derivation(
        name=name, field="lead_source", reads=("utm_source", "utm_medium"),
        derive=lambda f: utm.lead_source(f.get("utm_source"), f.get("utm_medium")))
    return derivations([lead_source])[name]


def _map_rule(path: str, key: str, field: str) -> Rule:
    """A lookup from a CSV with a column named like `key` and one named like `field`."""
    table: dict[str, tuple[int, str]] = {}
    with open_csv(path) as source:
        headers = [h.casefold() for h in source.header]
        missing = [n for n in (key, field) if n.casefold() not in headers]
        if missing:
            raise CsvError(f"no column {' or '.join(map(repr, missing))} (the header has: "
                           f"{', '.join(repr(h) for h in source.header)})", file=path)
        k, v = headers.index(key.casefold()), headers.index(field.casefold())
        for chunk in source.chunks(5000):
            for row, cells in zip(chunk.row_numbers, chunk.rows, strict=True):
                lookup, value = cells[k].strip().casefold(), cells[v].strip()
                if not lookup or not value:
                    continue
                seen = table.setdefault(lookup, (row, value))
                if seen[1] != value:
                    raise CsvError(f"{key} {cells[k].strip()!r} maps to {seen[1]!r} in row "
                                   f"{seen[0]} and to {value!r} here", file=path, row=row)
    values = {lookup: value for lookup, (_, value) in table.items()}
    return lambda fields: _conform(field, values.get((fields.get(key) or "").strip().casefold(),
                                                     ""))


def _conform(field: str, value: str) -> str | None:
    """`value` in the form the field holds (a country as ISO alpha-2); None if it has none."""
    value = value.strip()
    if not value:
        return None
    return normalize_country(value) if field == "country" else value


def _writable(name: str, what: str) -> str:
    if name not in WRITABLE_FIELDS:
        raise InputError(f"{what} {name!r} is not a contact field mops can write (fields: "
                         f"{', '.join(WRITABLE_FIELDS)})", field=name)
    return name


def _known(name: str, what: str) -> str:
    if name not in CONTACT_FIELD_NAMES:
        raise InputError(f"{what} {name!r} is not a contact field (fields: "
                         f"{', '.join(CONTACT_FIELD_NAMES)})", field=name)
    return name


def _describe(params: BackfillParams) -> str:
    if params.value is not None:
        return "--value"
    if params.from_field is not None:
        return f"from {params.from_field}"
    if params.map_file is not None:
        return f"{Path(params.map_file).name} by {params.key}"
    return str(params.derive)
