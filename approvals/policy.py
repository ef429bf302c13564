"""Approval policy: which plans need how many approvers, of which role, or none.

The default: every plan that writes needs one approval by someone other than the requester.
Rules (first match wins) may auto-approve small, narrow plans or ask for more approvers or a
role. A plan that writes nothing needs no approval.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.plans import Plan
from tools.changes import Op


class Rule(BaseModel):
    """A policy rule; every condition given must hold for the rule to match."""

    model_config = ConfigDict(extra="forbid")

    name: str
    action: Literal["auto_approve", "require"] = "require"
    kinds: list[str] | None = None          # job kinds the rule covers
    ops: list[Op] | None = None             # the plan may only use these operations
    fields: list[str] | None = None         # the plan may only touch these fields
    max_changes: int | None = Field(default=None, ge=0)
    approvals: int = Field(default=1, ge=1)
    role: str | None = None

    def matches(self, plan: Plan) -> bool:
        """Whether every condition of the rule holds for `plan`."""
        return (
            (self.kinds is None or plan.kind in self.kinds)
            and (self.ops is None or set(plan.ops) <= set(self.ops))
            and (self.fields is None or set(plan.fields) <= set(self.fields))
            and (self.max_changes is None or plan.writes <= self.max_changes)
        )


class Requirement(BaseModel):
    """What a plan needs before it may be written; fixed on the job when it is planned."""

    auto: bool
    approvals: int
    role: str | None
    rule: str


class Policy(BaseModel):
    """The approval policy, as read from `[approvals]` in mops.toml."""

    model_config = ConfigDict(extra="forbid")

    approvals: int = Field(default=1, ge=1)
    role: str | None = None
    rules: list[Rule] = []
    roles: dict[str, list[str]] = {}        # role -> users who hold it

    def requirement(self, plan: Plan) -> Requirement:
        """What `plan` needs under this policy."""
        if plan.writes == 0:
            return Requirement(auto=True, approvals=0, role=None, rule="nothing to write")
        for rule in self.rules:
            if rule.matches(plan):
                auto = rule.action == "auto_approve"
                return Requirement(auto=auto, approvals=0 if auto else rule.approvals,
                                   role=rule.role, rule=rule.name)
        return Requirement(auto=False, approvals=self.approvals, role=self.role,
                           rule="default")

    def holds(self, user: str, role: str | None) -> bool:
        """Whether `user` holds `role` (no role asked: everyone does)."""
        return role is None or user in self.roles.get(role, [])
