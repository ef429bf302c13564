"""Job kinds: a planner per kind, found by name in an explicit registry.

A planner reads through tools (read-only) and proposes changes into a `PlanBuilder`; it
never writes. Writes happen later, through the gate, in `execute_batch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from agents.plans import PlanBuilder
from tools.crm import CRM


@dataclass(frozen=True)
class PlanContext:
    """What a planner works with: the job, a read view of the CRM, the plan being built."""

    job: int
    crm: CRM
    plan: PlanBuilder


class JobKind(Protocol):
    """A kind of job: its name and its planner."""

    name: str

    def plan(self, params: Any, ctx: PlanContext) -> None:
        """Turn `params` into changes and rejects in `ctx.plan`."""
        ...


class UnknownKind(LookupError):
    """No job kind is registered under that name."""


class Registry:
    """Job kinds by name. Built where the app is built; no global state."""

    def __init__(self, kinds: list[JobKind] | None = None) -> None:
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds or []:
            self.register(kind)

    def register(self, kind: JobKind) -> None:
        """Add a kind; a name may be registered once."""
        if kind.name in self._kinds:
            raise ValueError(f"job kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> JobKind:
        """The kind registered under `name`."""
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(f"no job kind {name!r} (known: {', '.join(self.names())})"
                              ) from None

    def names(self) -> list[str]:
        """The registered kinds' names, sorted."""
        return sorted(self._kinds)
