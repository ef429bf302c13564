"""Per-item results, and what Marketo's per-record statuses mean for them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.marketo._client import Problem
from tools.marketo._errors import MarketoError
from tools.results import EXISTS, MISSING, NO_LIST, chunks, failed, results

__all__ = ["BATCH", "EXISTS", "LEAD_NOT_FOUND", "MISSING", "NO_LIST", "chunks", "failed",
           "reason", "results"]

BATCH = 300            # records per lead or list-membership call, at most
LEAD_NOT_FOUND = "1004"


def reason(item: Mapping[str, Any]) -> tuple[str, str]:
    """The code and text of why a record was skipped (``reasons[0]``)."""
    reasons = item.get("reasons") or []
    first = Problem.model_validate(reasons[0]) if reasons else Problem(code="", message="")
    if first.code == LEAD_NOT_FOUND:
        return first.code, MISSING
    text = f"Marketo {first.code}: {first.message}" if first.code else "skipped by Marketo"
    return first.code, text


def aligned(where: str, sent: Sequence[object], answer: list[dict[str, Any]]
            ) -> list[dict[str, Any]]:
    """The per-record results, one per record sent (Marketo keeps their order)."""
    if len(answer) != len(sent):
        raise MarketoError(where, "-", f"{len(answer)} results for {len(sent)} records")
    return answer
