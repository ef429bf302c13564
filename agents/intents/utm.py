"""UTM fixes: "fix the utms on our contacts using taxonomy.toml", "clean up utm parameters in
ads.csv with utm.toml, column link, write to fixed.csv"."""

from __future__ import annotations

from agents.intents.clause import Clause
from agents.intents.draft import Draft, Read, build
from agents.intents.types import Question
from agents.intents.vocabulary import ARTICLES
from agents.utm_fix import UtmFixParams

_OUT = ("write", "to", "into", "as")       # "write to fixed.csv", "save as fixed.csv"
_CUES = ("using", "has", "in", "from", "on", "of", "by")


def read_utm_fix(clause: Clause, verb: int | None) -> Read:
    """A UTM fix of a links CSV (`links`, `column`, `out`) or of contacts, by a taxonomy."""
    clause.use(*(i for i in clause.free() if clause.lex[i].is_("utm")))
    tomls = _files(clause, ".toml")
    csvs = _files(clause, ".csv")
    if len(tomls) > 1:
        return Question(text=f"Which taxonomy should I use: {_names(clause, tomls)}?",
                        missing=["taxonomy"])
    out = next((i for i in csvs if _after_cue(clause, i, _OUT)), None)
    links = [i for i in csvs if i != out]
    if len(links) > 1:
        return Question(text=f"Which links file should I fix: {_names(clause, links)}?",
                        missing=["links"])
    contacts = clause.find("contacts")
    missing = [] if tomls else ["taxonomy"]
    if links and contacts is not None:
        return Question(text=f"Should I fix the links in {clause.lex[links[0]].value} or the "
                             "utm fields of contacts?", missing=["links"])
    if not links and contacts is None:
        missing.append("links")
    if missing:
        return _ask(missing)
    clause.use(*tomls, *links, *([] if out is None else [out]), *_cue_of(clause, tomls[0]))
    fields: dict[str, str] = {"taxonomy": clause.lex[tomls[0]].value}
    if links:
        fields["links"] = clause.lex[links[0]].value
        clause.use(*_cue_of(clause, links[0]))
        if (column := _column(clause)) is not None:
            fields["column"] = column
        if out is not None:
            fields["out"] = clause.lex[out].value
    elif contacts is not None:
        clause.use(contacts)
        fields["object"] = "contact"
    params = build(UtmFixParams, fields)
    if isinstance(params, Question):
        return params
    return _draft(params, fields)


def _draft(params: UtmFixParams, given: dict[str, str]) -> Draft:
    if params.links is None:
        return Draft(params=params, inputs=("taxonomy",), explanation=(
            "Fix the utm fields of every contact against the taxonomy in "
            f"{params.taxonomy}; values it cannot decide are listed for you, not changed."))
    assumptions = []
    if "column" not in given:
        assumptions.append(f"the links are in the column {params.column!r}")
    if "out" not in given:
        assumptions.append(f"the fixed copy is written to {params.output}")
    return Draft(
        params=params, assumptions=tuple(assumptions), inputs=("taxonomy", "links"),
        explanation=(f"Fix the utm parameters of the links in {params.links} (column "
                     f"{params.column!r}) against {params.taxonomy}, writing a fixed copy to "
                     f"{params.output}; {params.links} itself is not changed."))


def _ask(missing: list[str]) -> Question:
    if missing == ["taxonomy"]:
        text = "Which taxonomy file should I fix the utms against (e.g. taxonomy.toml)?"
    elif missing == ["links"]:
        text = "Which utms should I fix: the links in a CSV file (name it), or the contacts'?"
    else:
        text = ("Which utms should I fix (a CSV of links, or the contacts'), and against which "
                "taxonomy file? For example: fix the utms in ads.csv with taxonomy.toml.")
    return Question(text=text, missing=missing)


def _files(clause: Clause, suffix: str) -> list[int]:
    return [i for i in clause.of_kind("file") if clause.lex[i].value.lower().endswith(suffix)]


def _names(clause: Clause, indices: list[int]) -> str:
    return " or ".join(repr(clause.lex[i].value) for i in indices)


def _after_cue(clause: Clause, i: int, cues: tuple[str, ...]) -> bool:
    return bool(_cue_of(clause, i, cues))


def _cue_of(clause: Clause, i: int, cues: tuple[str, ...] = _CUES + _OUT) -> list[int]:
    """The cue word(s) just before the file at `i` ("write to", "using the"), if any."""
    j = i - 1
    while j >= 0 and j not in clause.used and clause.lex[j].is_(*ARTICLES):
        j -= 1
    if j >= 0 and j not in clause.used and clause.lex[j].is_(*cues):
        k = j - 1 if j > 0 and clause.lex[j - 1].is_("write") and j - 1 not in clause.used \
            else j
        return list(range(k, i))
    return []


def _column(clause: Clause) -> str | None:
    """The column of links: "column link", "column 'Landing URL'", "the link column"."""
    at = clause.find("column")
    if at is None:
        return None
    after = clause.skip(at + 1, ("named", "the"))
    for i in (after, at - 1):
        lexeme = clause.at(i)
        if lexeme is not None and lexeme.kind in ("word", "quoted", "field") \
                and not lexeme.is_(*ARTICLES, "in", "for", "and", "has", "using", "write"):
            clause.use(at, i, *range(at + 1, after))
            return lexeme.value if lexeme.kind == "quoted" else clause.raw(i, i)
    return None
