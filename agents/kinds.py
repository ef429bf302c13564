"""Job kinds: a planner per kind, found by name in a registry.

A planner reads through tools (read-only) and proposes changes into a `PlanBuilder`; it
never writes. Writes happen later, through the gate, in `approvals.execute`.

Kinds are registered as Python entry points in the group `mops.job_kinds` (see
`docs/job-kinds.md`), so another installed package can add one. An entry point names a
callable that takes the app's `Services` and returns the kind, usually the kind's class.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from agents.plans import PlanBuilder
from agents.requests import Params
from agents.suggest import FuzzySuggester, Suggester
from tools.crm import CRM
from tools.errors import InputError
from tools.sheet import Sheet, Target, as_crm, as_sheet

ENTRY_POINT_GROUP = "mops.job_kinds"


@dataclass(frozen=True)
class Services:
    """What the app hands a kind when it is made: the job store, the home directory, who
    suggests mappings for a person to decide on (a model with `MOPS_LLM`, else fuzzy
    matching), and how many helper processes a planner may read a large file with
    (`MOPS_HELPERS`; None: one per core, at most four).

    `store` is an `approvals.store.Store`; it is typed loosely here because `agents` sits
    below `approvals` and must not import it.
    """

    store: Any
    home: Path
    suggester: Suggester = field(default_factory=FuzzySuggester)
    helpers: int | None = None


@dataclass(frozen=True)
class PlanContext:
    """What a planner works with: the job, a read view of its target, the plan being built."""

    job: int
    target: Target
    plan: PlanBuilder

    @property
    def crm(self) -> CRM:
        """The target as a CRM (a ToolError if the job's target is a file of links)."""
        return as_crm(self.target)

    @property
    def sheet(self) -> Sheet:
        """The target as a sheet (a ToolError if the job's target is a CRM)."""
        return as_sheet(self.target)


class JobKind(Protocol):
    """A kind of job: its name, its parameters' model and its planner."""

    name: str

    @property
    def params(self) -> type[Params]:
        """The model of the kind's parameters (a class attribute does)."""
        ...

    def plan(self, params: Any, ctx: PlanContext) -> None:
        """Turn `params` into changes and rejects in `ctx.plan`."""
        ...


class UnknownKind(LookupError):
    """No job kind is registered under that name."""


class BadParams(InputError):
    """Stored or requested parameters do not fit their kind's model."""


class Registry:
    """Job kinds by name. Built where the app is built; no global state."""

    def __init__(self, kinds: Iterable[JobKind] = ()) -> None:
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            self.register(kind)

    @classmethod
    def discover(cls, services: Services, group: str = ENTRY_POINT_GROUP) -> Registry:
        """Every kind installed under the entry-point `group`, made with `services`."""
        registry = cls()
        for point in sorted(entry_points(group=group), key=lambda p: p.name):
            kind = point.load()(services)
            if kind.name != point.name:
                raise ValueError(f"entry point {point.name!r} ({point.value}) makes a kind "
                                 f"named {kind.name!r}; the two names must match")
            registry.register(kind)
        return registry

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

    def parse_params(self, data: dict[str, Any]) -> Params:
        """Stored or sent parameters (JSON with a `kind`) as the kind's own model."""
        kind = self.get(str(data.get("kind")))
        try:
            return kind.params.model_validate(data)
        except ValidationError as exc:
            raise BadParams(f"parameters of a {kind.name} job: {exc}") from None
