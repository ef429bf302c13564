"""Backfills: "backfill country from phone for contacts with no country", "set lead source to
Expo where utm_campaign is expo-26", "copy city into country", "fill company from
companies.csv by email", "fill lead source from utm using taxonomy.toml"."""

from __future__ import annotations

import difflib

from agents.backfill import BackfillParams
from agents.intents.clause import Clause
from agents.intents.conditions import OPENERS, ConditionError, read_filters, read_value
from agents.intents.draft import Draft, Read, build
from agents.intents.types import Question
from agents.intents.vocabulary import ARTICLES
from tools.derive import DERIVATIONS
from tools.fields import WRITABLE_FIELDS
from tools.normalize import normalize_country

UTM_PAIR = frozenset({"utm_source", "utm_medium"})
FROM_UTM = "lead_source_from_utm"
# Each derivation: the field it fills and the fields it reads.
DERIVED = {**{d.name: (d.field, frozenset(d.reads)) for d in DERIVATIONS.values()},
           FROM_UTM: ("lead_source", UTM_PAIR)}
_QUALIFIERS = ("domain", "domains", "tld", "number", "address", "ending", "extension", "field",
               "column", "value", "values", "code")
_KEY_CUES = ("by", "on", "matching", "match", "key", "keyed", "via", "using", "joined")


def read_backfill(clause: Clause, verb: int | None) -> Read:
    """A backfill of one field from one source, maybe for the contacts matching a filter."""
    options = _options(clause)
    if isinstance(options, Question):
        return options
    overwrite, taxonomy, mapped = options
    copy = verb is not None and clause.lex[verb].value == "copy"
    target = _copy(clause, verb) if copy and verb is not None else _target(clause, verb)
    if isinstance(target, Question):
        return target
    field, source = target
    if mapped is not None:
        source = {"map_file": mapped[0], "key": mapped[1]}
    elif source is None:
        source = _source(clause, field, taxonomy)
    if isinstance(source, Question):
        return source
    if not source:
        return _ask_source(field)
    where = _where(clause)
    if isinstance(where, Question):
        return where
    fields = {"field": field, **source, "where": where, "overwrite": overwrite is True,
              "taxonomy": taxonomy}
    params = build(BackfillParams, fields)
    if isinstance(params, Question):
        return params
    assumptions = () if overwrite is not None else (
        f"contacts that already have a {field} keep it",)
    inputs = tuple(n for n in ("map_file", "taxonomy") if getattr(params, n) is not None)
    return Draft(params=params, explanation=_explain(params), assumptions=assumptions,
                 inputs=inputs, strict=True)


def _options(clause: Clause) -> tuple[bool | None, str | None, tuple[str, str] | None] | Question:
    """Whether to overwrite (None: not said), the taxonomy file, and a CSV map with its key."""
    overwrite = _overwrite(clause)
    if isinstance(overwrite, Question):
        return overwrite
    taxonomy = _one_file(clause, ".toml", "taxonomy")
    if isinstance(taxonomy, Question):
        return taxonomy
    mapped = _map(clause)
    if isinstance(mapped, Question):
        return mapped
    return overwrite, taxonomy, mapped


def _overwrite(clause: Clause) -> bool | None | Question:
    yes, no = clause.find("overwrite"), clause.find("keep")
    if yes is not None and no is not None:
        return Question(text="Should values already set be replaced, or kept?",
                        missing=["overwrite"])
    clause.use(*(i for i in (yes, no) if i is not None))
    return True if yes is not None else False if no is not None else None


def _one_file(clause: Clause, suffix: str, name: str) -> str | None | Question:
    files = [i for i in clause.of_kind("file") if clause.lex[i].value.lower().endswith(suffix)]
    if len(files) > 1:
        names = " or ".join(repr(clause.lex[i].value) for i in files)
        return Question(text=f"Which {name} file should I use: {names}?", missing=[name])
    if not files:
        return None
    at = files[0]
    before = at - 1
    if before >= 0 and clause.lex[before].is_("from", "using", "has", "in", "per", "by"):
        clause.use(before)
    clause.use(at)
    return clause.lex[at].value


def _map(clause: Clause) -> tuple[str, str] | None | Question:
    """A CSV to look values up in, and the contact field whose value is the key."""
    file = _one_file(clause, ".csv", "map_file")
    if not isinstance(file, str):
        return file
    at = next(i for i in clause.used if clause.lex[i].value == file)
    for i in clause.free(at + 1):
        if clause.lex[i].is_(*_KEY_CUES):
            j = clause.skip(i + 1, ARTICLES)
            if (key := clause.at(j)) is not None and key.kind == "field":
                clause.use(*range(i, j + 1))
                return file, key.value
    return Question(text=f"Which contact field should I look up in {file} (e.g. 'by email')?",
                    missing=["key"])


Target = tuple[str, dict[str, str] | Question | None]     # the field, and its source if known


def _target(clause: Clause, verb: int | None) -> Target | Question:
    """The field to fill: the first one after the verb (or the first one, with no verb)."""
    if verb is None:
        at = next((i for i in clause.free() if clause.lex[i].kind == "field"), len(clause))
    else:
        at = clause.skip(verb + 1, (*ARTICLES, "empty", "no", "in"))
    lexeme = clause.at(at)
    if lexeme is None or lexeme.kind != "field":
        known = lexeme is not None and lexeme.kind in ("word", "quoted") \
            and not lexeme.is_(*OPENERS, "to", "from", "using", "as")
        return _unknown_field(clause.raw(at, at) if known else None)
    if lexeme.value not in WRITABLE_FIELDS:
        return _unknown_field(lexeme.value)
    clause.use(at)
    return lexeme.value, None


def _copy(clause: Clause, verb: int) -> Target | Question:
    """`copy SOURCE to|into FIELD`."""
    at = clause.skip(verb + 1, ARTICLES)
    source = clause.at(at)
    into = clause.find("to", "into", "onto", "over", start=at + 1)
    target = clause.at(clause.skip(into + 1, ARTICLES)) if into is not None else None
    if source is None or source.kind != "field":
        return _unknown_field(None)
    if target is None or target.kind != "field" or target.value not in WRITABLE_FIELDS:
        return _unknown_field(None if target is None else target.value)
    clause.use(verb, at, into or at, clause.skip((into or at) + 1, ARTICLES))
    return target.value, {"from_field": source.value}


def _unknown_field(name: str | None) -> Question:
    fields = ", ".join(WRITABLE_FIELDS)
    if name is None:
        return Question(text=f"Which field should I fill? One of: {fields}.", missing=["field"])
    close = difflib.get_close_matches(name.lower(), WRITABLE_FIELDS, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    return Question(text=f"{name!r} is not a contact field I can fill.{hint} The fields are: "
                         f"{fields}.", missing=["field"])


def _source(clause: Clause, field: str, taxonomy: str | None) -> dict[str, str] | None | Question:
    """Where the values come from: a derivation, another field or a value."""
    named = next((i for i in clause.free() if clause.lex[i].value in DERIVED), None)
    if named is not None:
        clause.use(named)
        return {"derive": clause.lex[named].value}
    at = clause.find("from")
    if at is not None:
        reads, end = _reads(clause, clause.skip(at + 1, ARTICLES))
        if reads:
            clause.use(*range(at, end))
            return _from(reads, field, taxonomy)
    at = next((i for i in clause.free() if clause.lex[i].is_("to", "as")
               or clause.lex[i].kind == "op"), None)
    if at is None:
        return None
    value, end = read_value(clause, at + 1)
    if value is None:
        return None
    if field == "country" and normalize_country(value) is None:
        return Question(text=f"{value!r} is not a country I know: which country (e.g. DE)?",
                        missing=["value"])
    clause.use(*range(at, end))
    return {"value": value}


def _reads(clause: Clause, at: int) -> tuple[frozenset[str], int]:
    """The fields a source names: "phone", "email domain", "the utms", "domain"."""
    lexeme = clause.at(at)
    if lexeme is None:
        return frozenset(), at
    if lexeme.is_("utm"):
        return UTM_PAIR, at + 1
    if lexeme.is_("domain", "domains", "tld"):
        return frozenset({"email"}), at + 1
    if lexeme.kind != "field":
        return frozenset(), at
    end = at + 1
    while (after := clause.at(end)) is not None and after.is_(*_QUALIFIERS):
        end += 1
    return frozenset({lexeme.value}), end


def _from(reads: frozenset[str], field: str, taxonomy: str | None) -> dict[str, str] | Question:
    derived = [n for n, (fills, needs) in DERIVED.items() if fills == field and needs == reads]
    if derived == [FROM_UTM] and taxonomy is None:
        return Question(text="Which UTM taxonomy file maps the utms to lead sources "
                             "(e.g. using taxonomy.toml)?", missing=["taxonomy"])
    if derived:
        return {"derive": derived[0]}
    if len(reads) == 1 and field not in reads:
        return {"from_field": next(iter(reads))}
    return _ask_source(field)


def _ask_source(field: str) -> Question:
    ways = [f"from {' and '.join(sorted(needs))} ({name})"
            for name, (fills, needs) in DERIVED.items() if fills == field]
    derived = f"I can work it out {' or '.join(ways)}, or take it" if ways else "I can take it"
    return Question(text=f"Fill {field} from what? {derived} from another field ('from city'), "
                         "set a value ('to Expo') or look it up in a CSV ('from map.csv by "
                         "email').", missing=["source"])


def _where(clause: Clause) -> str | None | Question:
    try:
        return read_filters(clause)
    except ConditionError as error:
        return Question(text=f"{error}. Which contacts should I fill?", missing=["where"])


def _explain(params: BackfillParams) -> str:
    if params.derive is not None:
        how = f"working it out from {' and '.join(sorted(DERIVED[params.derive][1]))} " \
              f"({params.derive})"
    elif params.value is not None:
        how = f"setting it to {params.value!r}"
    elif params.from_field is not None:
        how = f"copying {params.from_field}"
    else:
        how = f"looking it up in {params.map_file} by {params.key}"
    who = f"the contacts where {params.where}" if params.where else "every contact"
    keep = "replacing values already set" if params.overwrite else \
        "leaving values already set as they are"
    return f"Fill {params.field} of {who} by {how}, {keep}."
