"""Everything a task needs, built once by the app and passed in: no globals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from agents.kinds import Registry
from approvals.gate import Gate
from approvals.plan_rows import PlanRows
from approvals.policy import Policy
from approvals.store import Store
from tools.sheet import Target

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The job store, the gate, the job kinds and a way to open CRM connections by name."""

    store: Store
    policy: Policy
    kinds: Registry
    connect: Callable[[str], Target]
    batch_size: int = 1000
    # Told the job's number whenever a job moves on (planned, decided, running, ended), after
    # the move is committed: the Slack app keeps its messages in step this way.
    watchers: list[Callable[[int], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate = Gate(self.store, self.policy)   # one per runtime: it caches verified plans

    def notify(self, job: int) -> None:
        """Tell the watchers that `job` moved on; a watcher that fails is logged, never lets
        the job fail (a chat service down must not stop a write)."""
        for watch in self.watchers:
            try:
                watch(job)
            except Exception:
                log.warning("a watcher of job %s failed", job, exc_info=True)

    @property
    def rows(self) -> PlanRows:
        """Plan rows of this store."""
        return PlanRows(self.store)
