"""Suggestions for what the deterministic rules leave open: unknown CSV headers, UTM values.

A `Suggester` maps unknown CSV headers to contact fields and unknown UTM values to the
taxonomy's allowed values. Every `Suggestion` says who made it (`by`), so a plan can show
"suggested by mops-fuzzy" or "suggested by openai:gpt-4o-mini" and a person decides.

- `FuzzySuggester` (the default, no network): close spellings only, by `difflib`, with a
  high cutoff and a margin over the next-best target; no close match, no suggestion.
- `ModelSuggester` (`agents.suggest_model`): a chat model with structured output. Anything
  it returns outside the given names or targets is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from tools.columns import SYNONYMS, normalize_header

FUZZY = "mops-fuzzy"


class Suggestion(BaseModel):
    """A suggested value and who suggested it."""

    model_config = ConfigDict(frozen=True)

    value: str
    by: str


class Suggester(Protocol):
    """Suggests targets for names the deterministic rules could not place."""

    def map_headers(self, unknown: list[str], fields: list[str]) -> dict[str, Suggestion]:
        """For some of the `unknown` CSV headers, the contact field (one of `fields`)."""
        ...

    def map_utm_values(self, param: str, values: list[str],
                       allowed: list[str]) -> dict[str, Suggestion]:
        """For some of the `values` of utm parameter `param`, the allowed value they mean."""
        ...


class FuzzySuggester:
    """Close spellings only: `cutoff` similarity at least, and `margin` over the runner-up."""

    by = FUZZY

    def __init__(self, cutoff: float = 0.85, margin: float = 0.05, min_length: int = 4) -> None:
        self.cutoff, self.margin, self.min_length = cutoff, margin, min_length

    def map_headers(self, unknown: list[str], fields: list[str]) -> dict[str, Suggestion]:
        spellings = [(normalize_header(f), f) for f in fields]
        spellings += [(s, f) for s, f in SYNONYMS.items() if f in fields]
        return self._match(unknown, spellings, normalize_header)

    def map_utm_values(self, param: str, values: list[str],
                       allowed: list[str]) -> dict[str, Suggestion]:
        return self._match(values, [(_fold(a), a) for a in allowed], _fold)

    def _match(self, names: Iterable[str], targets: list[tuple[str, str]],
               key: _Key) -> dict[str, Suggestion]:
        found: dict[str, Suggestion] = {}
        for name in names:
            best = self._best(key(name), targets)
            if best is not None:
                found[name] = Suggestion(value=best, by=self.by)
        return found

    def _best(self, text: str, targets: list[tuple[str, str]]) -> str | None:
        """The target `text` is a clear near-spelling of, if any."""
        if len(text) < self.min_length:
            return None
        scores: dict[str, float] = {}
        for spelling, target in targets:
            score = SequenceMatcher(None, text, spelling).ratio()
            scores[target] = max(score, scores.get(target, 0.0))
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        if not ranked or ranked[0][1] < self.cutoff:
            return None
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < self.margin:
            return None     # two targets nearly as close: a guess, not a suggestion
        return ranked[0][0]


class _Key(Protocol):
    def __call__(self, text: str, /) -> str: ...


def _fold(value: str) -> str:
    """A UTM value compared without case, and with spaces, `_` and `-` alike."""
    return " ".join(re.split(r"[\s_\-]+", value.strip().casefold())).strip()
