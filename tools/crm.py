"""The `CRM` protocol: what every adapter (sandbox, HubSpot, Salesforce, Marketo) offers.

Reads and writes are batched; each write returns one `WriteResult` per item, so a failure of
one item never hides the success of the others. Adapters know nothing of jobs or approvals:
the gate and the ledger sit above them (see `approvals/`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from tools.changes import FieldValues
from tools.records import FieldInfo, Record, WriteResult


@runtime_checkable
class CRM(Protocol):
    """A connection to one CRM: contacts keyed by e-mail, and named static lists."""

    name: str

    def describe_fields(self) -> list[FieldInfo]:
        """The contact fields this CRM has."""
        ...

    def read_contacts(self, keys: Sequence[str]) -> dict[str, Record]:
        """The contacts among `keys` that exist, by key. Missing keys are absent."""
        ...

    def create_contacts(self, records: Sequence[Record]) -> list[WriteResult]:
        """Create new contacts; an existing key is an item error, not an overwrite."""
        ...

    def update_contacts(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Set the given fields of existing contacts (``None`` empties a field)."""
        ...

    def delete_contacts(self, keys: Sequence[str]) -> list[WriteResult]:
        """Delete contacts and their list memberships."""
        ...

    def iter_contacts(self) -> Iterator[Record]:
        """Every contact, in key order."""
        ...

    def list_exists(self, list_name: str) -> bool:
        """Whether a static list of that name exists."""
        ...

    def create_list(self, list_name: str) -> WriteResult:
        """Create an empty static list."""
        ...

    def delete_list(self, list_name: str) -> WriteResult:
        """Delete a static list (its memberships go with it)."""
        ...

    def list_members(self, list_name: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are members of the list (empty if the list does not exist)."""
        ...

    def count_members(self, list_name: str) -> int:
        """How many members the list has (0 if it does not exist)."""
        ...

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Add contacts to a list; adding a member twice is not an error."""
        ...

    def remove_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Remove contacts from a list; removing a non-member is not an error."""
        ...

    def iter_memberships(self) -> Iterator[tuple[str, str]]:
        """Every (list name, contact key) pair, ordered."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
