"""Fixing one UTM value against a taxonomy, and checking that the required ones are there.

A value is fixed in a fixed order: strip; collapse each internal whitespace run to the
taxonomy's `space` string; lower-case it (`case = "lower"`); replace it by its alias; then
check it against the parameter's `allowed` list and `pattern`. A value that fails a check,
or is empty, is not guessed at: it comes back as `NeedsDecision` with the reason. Fixing is
idempotent: fixing a `Fixed` value gives the same value back (the taxonomy checks at load
that alias targets are allowed, match the pattern and are not themselves aliases).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.utm.taxonomy import Taxonomy

PREFIX = "utm_"
_MEMO_SIZE = 65_536         # distinct values remembered per parameter before starting over
_SHOWN_ALLOWED = 12          # allowed values listed in a reason before "and N more"


@dataclass(frozen=True, slots=True)
class Fixed:
    """A value that passes the taxonomy, in its fixed form (which may equal the input)."""

    value: str


@dataclass(frozen=True, slots=True)
class NeedsDecision:
    """A value the taxonomy cannot fix without a guess: `value` as given, and why."""

    value: str
    reason: str


def normalise(value: str, *, lower: bool, space: str) -> str:
    """Strip, collapse internal whitespace runs to `space`, and lower-case if `lower`."""
    value = space.join(value.split())
    return value.lower() if lower else value


class ValueRule:
    """One parameter's rules, compiled for the hot path, with a memo of fixed values.

    Built by `Taxonomy` (one per parameter table, and a default for parameters without one);
    `allowed` and the alias keys and targets are already normalised.
    """

    __slots__ = ("param", "lower", "space", "allowed", "aliases", "pattern", "_memo")

    def __init__(
        self, param: str, *, lower: bool, space: str, allowed: tuple[str, ...] | None = None,
        aliases: Mapping[str, str] | None = None, pattern: re.Pattern[str] | None = None,
    ) -> None:
        self.param, self.lower, self.space = param, lower, space
        self.allowed = dict.fromkeys(allowed) if allowed is not None else None   # ordered set
        self.aliases = dict(aliases or {})
        self.pattern = pattern
        self._memo: dict[str, Fixed | NeedsDecision] = {}

    def fix(self, value: str) -> Fixed | NeedsDecision:
        """The fixed form of `value`, or why it needs a human decision (memoised)."""
        outcome = self._memo.get(value)
        if outcome is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            outcome = self._memo[value] = self._fix(value)
        return outcome

    def _fix(self, value: str) -> Fixed | NeedsDecision:
        fixed = normalise(value, lower=self.lower, space=self.space)
        if not fixed:
            return NeedsDecision(value, "empty")
        fixed = self.aliases.get(fixed, fixed)
        shown = repr(fixed) if fixed == value else f"{value!r} (fixed to {fixed!r})"
        if self.allowed is not None and fixed not in self.allowed:
            return NeedsDecision(
                value, f"{shown} is not an allowed {self.param}; allowed: {self._allowed()}",
            )
        if self.pattern is not None and not self.pattern.fullmatch(fixed):
            return NeedsDecision(
                value, f"{shown} does not match the {self.param} pattern {self.pattern.pattern!r}",
            )
        return Fixed(fixed)

    def _allowed(self) -> str:
        allowed = list(self.allowed or ())
        shown = ", ".join(allowed[:_SHOWN_ALLOWED])
        more = len(allowed) - _SHOWN_ALLOWED
        return f"{shown} and {more} more" if more > 0 else shown


def fix_value(taxonomy: Taxonomy, param: str, value: str) -> Fixed | NeedsDecision:
    """Fix `value` of the parameter `param` (its full name, e.g. ``utm_source``).

    Parameters the taxonomy has no table for get the case and space rules only.
    """
    return taxonomy.rule(param).fix(value)


def check_required(taxonomy: Taxonomy, present: Mapping[str, str]) -> list[str]:
    """The required parameters (full names) missing or blank in `present`, in taxonomy order.

    `present` maps full parameter names to values. The parameters required for a medium
    (``[utm.by_medium.<medium>]``) count when ``utm_medium`` is present and fixes to it.
    """
    medium = present.get("utm_medium")
    fixed = fix_value(taxonomy, "utm_medium", medium) if medium is not None else None
    needed = taxonomy.required_for(fixed.value if isinstance(fixed, Fixed) else None)
    return [param for param in needed if not present.get(param, "").strip()]
