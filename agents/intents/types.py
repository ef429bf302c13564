"""What the intent parser gives back: a job understood, a question, or a read-only query.

    Understood
    ├── Proposal   a job request's parameters, with what will happen and what was assumed
    ├── Question   not enough to go on: ask the person, never guess
    └── Query      a read-only count answered from the CRM
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, SerializeAsAny

from agents.requests import Params


class Proposal(BaseModel):
    """A job understood: its parameters, validated, ready to be confirmed and queued."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params: SerializeAsAny[Params]
    explanation: str            # one or two sentences: what will happen, in plain words
    assumptions: list[str] = []  # defaults filled in (e.g. "the links column is 'url'")


class Question(BaseModel):
    """Not enough to go on: the question to ask, and the parameters still needed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str                   # the question to ask the person
    missing: list[str] = []     # parameter names still needed, e.g. ["list"]
    understood: bool = True     # False: the text was not recognised at all (an LLM may try)


class Query(BaseModel):
    """A read-only question answered from the CRM: how many contacts match `where`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    object: Literal["contact"] = "contact"
    measure: Literal["count"] = "count"
    where: str | None = None    # in the tools.where language, parsed OK
    explanation: str


Understood = Proposal | Question | Query
