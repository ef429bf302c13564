"""Per-item results of a bulk write, the errors every adapter words the same way, and
batching: shared by the sandbox and the SaaS adapters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from tools.records import WriteResult

T = TypeVar("T")
EXISTS = "contact already exists"
MISSING = "no such contact"
NO_LIST = "no such list"


def results(keys: Sequence[str], errors: Mapping[int, str]) -> list[WriteResult]:
    """One result per key, in order: ok unless `errors` has an error at its position."""
    if not errors:
        return [WriteResult(key, True) for key in keys]
    return [WriteResult(key, True) if index not in errors
            else WriteResult(key, False, errors[index]) for index, key in enumerate(keys)]


def failed(key: str, error: str) -> WriteResult:
    """An item error."""
    return WriteResult(key=key, ok=False, error=error)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size` (a vendor's batch limit)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
