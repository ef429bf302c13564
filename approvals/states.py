"""Job states and the transitions allowed between them."""

from __future__ import annotations

from typing import Literal

State = Literal[
    "queued", "planning", "awaiting_approval", "approved", "running", "succeeded",
    "partially_failed", "failed", "rejected", "expired", "cancelled", "rolled_back",
]

STATES: tuple[State, ...] = (
    "queued", "planning", "awaiting_approval", "approved", "running", "succeeded",
    "partially_failed", "failed", "rejected", "expired", "cancelled", "rolled_back",
)

ALLOWED: dict[State, frozenset[State]] = {
    "queued": frozenset({"planning", "cancelled"}),
    # planning -> planning: planned again, its planner's lease having run out.
    "planning": frozenset({"planning", "awaiting_approval", "approved", "failed"}),
    "awaiting_approval": frozenset({"approved", "rejected", "expired", "cancelled"}),
    "approved": frozenset({"running", "cancelled"}),
    "running": frozenset({"succeeded", "partially_failed", "failed"}),
    "succeeded": frozenset({"rolled_back"}),
    "partially_failed": frozenset({"rolled_back"}),
    "failed": frozenset({"rolled_back"}),
    "rejected": frozenset(),
    "expired": frozenset(),
    "cancelled": frozenset(),
    "rolled_back": frozenset(),
}

FINAL: frozenset[State] = frozenset(
    {"succeeded", "partially_failed", "failed", "rejected", "expired", "cancelled",
     "rolled_back"}
)


def can_move(src: State, dst: State) -> bool:
    """Whether a job in `src` may move to `dst`."""
    return dst in ALLOWED[src]
