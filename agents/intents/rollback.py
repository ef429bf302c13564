"""Rollbacks: "roll back job 12", "undo 12", "revert job #7"."""

from __future__ import annotations

from agents.intents.clause import Clause
from agents.intents.draft import Draft, Read, build
from agents.intents.types import Question
from agents.requests import RollbackParams


def read_rollback(clause: Clause, verb: int | None) -> Read:
    """A rollback of the one job whose number is given."""
    numbers = clause.of_kind("number")
    if len(numbers) != 1:
        many = "One job at a time: w" if numbers else "W"
        return Question(text=f"{many}hich job should I roll back? Give its number, e.g. "
                             "'roll back job 12'.", missing=["of_job"])
    clause.use(numbers[0])
    params = build(RollbackParams, {"of_job": int(clause.lex[numbers[0]].value)})
    if isinstance(params, Question):
        return params
    return Draft(params=params, explanation=(
        f"Roll back job {params.of_job}: plan the undoing of what it wrote, from its rollback "
        "log, for approval like any other job."))
