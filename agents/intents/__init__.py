"""Intents: free text from chat → a typed job request, a question back, or a count.

`parse` is the deterministic default (no model, no network); an LLM path returns the same
types (`Proposal`, `Question`, `Query`).
"""

from agents.intents.parser import parse
from agents.intents.types import Proposal, Query, Question, Understood

__all__ = ["Proposal", "Query", "Question", "Understood", "parse"]
