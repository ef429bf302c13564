"""Errors of the gate, the job store and the rollback log.

    ApprovalsError
    ├── UnknownJob            no job with that id
    ├── InvalidTransition     the job's state does not allow that step
    ├── ApprovalRefused       a decision the gate will not take (own job, stale digest, role)
    ├── ExecutionRefused      the gate will not let a plan be written (fails closed)
    └── NothingToRollBack     the job wrote nothing that can be undone
"""

from __future__ import annotations


class ApprovalsError(Exception):
    """Base of every error raised in `approvals/`."""


class UnknownJob(ApprovalsError):
    """No job with that id exists in the store."""

    def __init__(self, job: int) -> None:
        self.job = job
        super().__init__(f"no job {job}")


class InvalidTransition(ApprovalsError):
    """A job cannot move from its state to the one asked for."""


class ApprovalRefused(ApprovalsError):
    """The gate refuses a decision: self-approval, stale digest, missing role, wrong state."""


class ExecutionRefused(ApprovalsError):
    """The gate refuses to let a plan be written; nothing was written."""


class NothingToRollBack(ApprovalsError):
    """The job has no applied writes to undo, or is not in a state that can be rolled back."""
