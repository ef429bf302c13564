"""Uploads: "upload expo-leads.csv to the Expo 2026 list", "import leads.csv into list 'X'"."""

from __future__ import annotations

from agents.intents.clause import Clause
from agents.intents.draft import Draft, Read, build
from agents.intents.types import Question
from agents.intents.vocabulary import ARTICLES
from agents.requests import ListUploadParams

_BEFORE = ("to", "into", "onto", "on", "in")      # "to the Expo list"
_AFTER_STOPS = frozenset({"for", "has", "using", "and", "then", "where", "by", "please",
                          "thanks", "now"})


def read_upload(clause: Clause, verb: int | None) -> Read:
    """A list upload: one CSV file and the name of the list its contacts join."""
    files = [i for i in clause.of_kind("file") if clause.lex[i].value.lower().endswith(".csv")]
    if len(files) > 1:
        names = " or ".join(repr(clause.lex[i].value) for i in files)
        return Question(text=f"Which file should I upload: {names}?", missing=["file"])
    name = list_name(clause)
    file = clause.lex[files[0]].value if files else None
    if file is None or name is None:
        return _ask(file, name)
    clause.use(files[0])
    params = build(ListUploadParams, {"file": file, "list": name})
    if isinstance(params, Question):
        return params
    return Draft(
        params=params,
        explanation=f"Upload the contacts in {file} to the CRM and add each of them to the "
                    f"list {name!r}.",
        assumptions=("the CSV's columns are matched to contact fields by their headers",),
        inputs=("file",))


def _ask(file: str | None, name: str | None) -> Question:
    if file is None and name is None:
        return Question(text="Which CSV file should I upload, and to which list? For example: "
                             "upload leads.csv to the Expo 2026 list.", missing=["file", "list"])
    if file is None:
        return Question(text=f"Which CSV file should I upload to the list {name!r}?",
                        missing=["file"])
    return Question(text=f"Which list should the contacts in {file} join? For example: "
                         f"upload {file} to the Expo 2026 list.", missing=["list"])


def list_name(clause: Clause) -> str | None:
    """The list's name, as typed: "to the Expo 2026 list", "into list 'Webinar'",
    "list named Newsletter". None if there is no list, or no name for it."""
    at = clause.find("list")
    if at is None:
        return None
    clause.use(at)
    after = clause.skip(at + 1, ("named",))
    following = clause.at(after)
    if following is not None and following.kind == "quoted":
        clause.use(*range(at + 1, after + 1))
        return following.value
    if after == at + 1:
        if (name := _before(clause, at)) is not None:
            return name
    return _after(clause, after)


def _before(clause: Clause, at: int) -> str | None:
    start = at
    while start > 0:
        lexeme = clause.at(start - 1)
        if lexeme is None or lexeme.kind in ("file", "punct") or lexeme.is_(*_BEFORE):
            break
        start -= 1
    first = clause.skip(start, ARTICLES)
    if first >= at:
        return None
    clause.use(*range(start, at))
    if first == at - 1 and clause.lex[first].kind == "quoted":
        return clause.lex[first].value
    return clause.raw(first, at - 1)


def _after(clause: Clause, start: int) -> str | None:
    end = start
    while (lexeme := clause.at(end)) is not None and lexeme.kind not in ("file", "punct") \
            and not lexeme.is_(*_AFTER_STOPS):
        end += 1
    if end == start:
        return None
    clause.use(*range(start, end))
    return clause.raw(start, end - 1)
