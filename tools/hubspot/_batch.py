"""Batches and their answers: chunks of 100, results in order, 207 errors by item."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import TypeAdapter

from tools.records import WriteResult

T = TypeVar("T")
BATCH = 100            # inputs per batch call: HubSpot's limit
EXISTS = "contact already exists"
MISSING = "no such contact"
NO_LIST = "no such list"

_RESULTS = TypeAdapter(list[WriteResult])


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def results(keys: Sequence[str], errors: Mapping[int, str]) -> list[WriteResult]:
    """One result per key, in order: ok unless `errors` has an error at its position."""
    return _RESULTS.validate_python([
        {"key": key, "ok": True} if index not in errors
        else {"key": key, "ok": False, "error": errors[index]}
        for index, key in enumerate(keys)
    ])


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
