"""Batches and their answers: chunks of 100, results in order, 207 errors by item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.results import EXISTS, MISSING, NO_LIST, chunks, results

__all__ = ["BATCH", "EXISTS", "MISSING", "NO_LIST", "chunks", "item_errors", "results"]

BATCH = 100            # inputs per batch call: HubSpot's limit


def item_errors(answer: Mapping[str, Any]) -> dict[str, str]:
    """The per-item errors of a 207 answer, by every id their context names (record ids,
    e-mails, write trace ids)."""
    found: dict[str, str] = {}
    for error in answer.get("errors") or []:
        message = describe(error)
        context = error.get("context") or {}
        for name in ("ids", "id", "objectWriteTraceId", "email"):
            for ident in context.get(name) or []:
                found.setdefault(str(ident), message)
    return found


def describe(error: Mapping[str, Any]) -> str:
    """A per-item error as one line: HubSpot's sub-category (or category) and message."""
    kind = error.get("subCategory") or error.get("category") or "ERROR"
    return f"HubSpot {kind}: {error.get('message', '')}".strip()


def unexplained(answer: Mapping[str, Any]) -> str:
    """The error for an item that got neither a result nor an error of its own."""
    errors = answer.get("errors") or []
    if errors:
        return describe(errors[0])
    return "HubSpot returned no result for this item"
