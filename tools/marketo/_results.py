"""Per-item results, and what Marketo's per-record statuses mean for them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import TypeAdapter

from tools.marketo._client import Problem
from tools.marketo._errors import MarketoError
from tools.records import WriteResult

T = TypeVar("T")
BATCH = 300            # records per lead or list-membership call, at most

EXISTS = "contact already exists"
MISSING = "no such contact"
NO_LIST = "no such list"
LEAD_NOT_FOUND = "1004"
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


def failed(key: str, error: str) -> WriteResult:
    """An item error."""
    return WriteResult(key=key, ok=False, error=error)


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
