"""Read-only views of a target: what planners and agents are handed, so that nothing but an
approved plan, executed through the gate and the ledger, can write.

Every write method raises `WriteRefused`; closing a view leaves the target open (its owner
closes it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NoReturn

from tools.changes import FieldValues
from tools.crm import CRM
from tools.records import FieldInfo, Record, WriteResult
from tools.sheet import Sheet, Target, as_crm


class WriteRefused(RuntimeError):
    """Something tried to write through a read-only view (a bug, never an answer)."""


class ReadOnlyCRM:
    """A CRM's reads; every write raises `WriteRefused`. Closing it leaves the CRM open."""

    def __init__(self, crm: CRM) -> None:
        self._crm = crm
        self.name = crm.name

    def describe_fields(self) -> list[FieldInfo]:
        return self._crm.describe_fields()

    def read_contacts(self, keys: Sequence[str]) -> dict[str, Record]:
        return self._crm.read_contacts(keys)

    def iter_contacts(self) -> Iterator[Record]:
        return self._crm.iter_contacts()

    def list_exists(self, list_name: str) -> bool:
        return self._crm.list_exists(list_name)

    def list_members(self, list_name: str, keys: Sequence[str]) -> set[str]:
        return self._crm.list_members(list_name, keys)

    def count_members(self, list_name: str) -> int:
        return self._crm.count_members(list_name)

    def iter_memberships(self) -> Iterator[tuple[str, str]]:
        return self._crm.iter_memberships()

    def close(self) -> None:
        pass

    def create_contacts(self, records: Sequence[Record]) -> list[WriteResult]:
        self._refuse("create_contacts")

    def update_contacts(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        self._refuse("update_contacts")

    def delete_contacts(self, keys: Sequence[str]) -> list[WriteResult]:
        self._refuse("delete_contacts")

    def create_list(self, list_name: str) -> WriteResult:
        self._refuse("create_list")

    def delete_list(self, list_name: str) -> WriteResult:
        self._refuse("delete_list")

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        self._refuse("add_members")

    def remove_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        self._refuse("remove_members")

    def _refuse(self, method: str) -> NoReturn:
        raise WriteRefused(f"{method} on a read-only view of {self.name}")


class ReadOnlySheet:
    """A sheet's reads; writing raises `WriteRefused`. Closing it leaves the sheet open."""

    def __init__(self, sheet: Sheet) -> None:
        self._sheet = sheet
        self.name = sheet.name

    def read_cells(self, keys: Sequence[str]) -> dict[str, FieldValues]:
        return self._sheet.read_cells(keys)

    def write_cells(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        raise WriteRefused(f"write_cells on a read-only view of {self.name}")

    def close(self) -> None:
        pass


def read_only(target: Target) -> Target:
    """`target` behind a read-only view."""
    if isinstance(target, Sheet):
        return ReadOnlySheet(target)
    return ReadOnlyCRM(as_crm(target))
