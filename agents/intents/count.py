"""Counts: "how many contacts have no lead source?", "how many contacts are in Germany"."""

from __future__ import annotations

from agents.intents.clause import Clause
from agents.intents.conditions import OPENERS, ConditionError, read_filters
from agents.intents.draft import Read
from agents.intents.types import Query, Question
from agents.intents.vocabulary import ARTICLES

# Words that may follow "how many" when the contacts are not named: "how many are in DE".
_NOT_A_SUBJECT = (*OPENERS, "is", "do", "there", "we")


def read_count(clause: Clause, verb: int | None) -> Read:
    """A count of the contacts matching the conditions that follow."""
    at = clause.skip(0 if verb is None else verb + 1, ARTICLES)
    subject = clause.at(at)
    if subject is not None and subject.is_("contacts"):
        clause.use(at)
    elif subject is not None and subject.kind != "punct" and not subject.is_(*_NOT_A_SUBJECT):
        return Question(text=f"I can only count contacts, not {clause.raw(at, at)!r}. For "
                             "example: how many contacts have no lead source?",
                        understood=False)
    try:
        where = read_filters(clause)
    except ConditionError as error:
        return Question(text=f"{error}. Which contacts should I count?", missing=["where"])
    return Query(where=where, explanation=f"Count the contacts where {where}." if where
                 else "Count all contacts.")
