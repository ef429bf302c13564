"""Everything a task needs, built once by the app and passed in: no globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents.kinds import Registry
from approvals.gate import Gate
from approvals.plan_rows import PlanRows
from approvals.policy import Policy
from approvals.store import Store
from tools.sheet import Target


@dataclass
class Runtime:
    """The job store, the gate, the job kinds and a way to open CRM connections by name."""

    store: Store
    policy: Policy
    kinds: Registry
    connect: Callable[[str], Target]
    batch_size: int = 1000

    def __post_init__(self) -> None:
        self.gate = Gate(self.store, self.policy)   # one per runtime: it caches verified plans

    @property
    def rows(self) -> PlanRows:
        """Plan rows of this store."""
        return PlanRows(self.store)
