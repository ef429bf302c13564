"""What an intent reader gives back when it understood a job: validated params, explained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from agents.intents.types import Query, Question
from agents.requests import Params

P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class Draft:
    """A job understood from one clause, before the words left over are accounted for."""

    params: Params
    explanation: str
    assumptions: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()    # the params that name files the job reads
    strict: bool = False            # words left over: a Question, not "ignored: …"


Read = Draft | Question | Query


def build(model: type[P], fields: dict[str, Any]) -> P | Question:
    """`model` from `fields`, or a Question naming what is wrong with them."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        missing = list(dict.fromkeys(str(p["loc"][0]) for p in problems if p["loc"]))
        reasons = "; ".join(_reason(p["loc"], p["msg"]) for p in problems)
        return Question(text=f"I cannot make that a job: {reasons}. What should it be?",
                        missing=missing)


def _reason(loc: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{loc[0]}: {message}" if loc else message
