"""The `Sheet` protocol: a file-like target whose cells a job changes (a CSV of links).

Where a `CRM` holds contacts and lists, a sheet holds rows keyed by their row number, each
with named cells. Changes to a sheet have `object="link"`; `tools.apply` sends them here.
A `Target` is what a job writes to: a CRM or a sheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from tools.changes import FieldValues
from tools.crm import CRM
from tools.errors import ToolError
from tools.records import WriteResult


@runtime_checkable
class Sheet(Protocol):
    """Rows of cells, read and written by row key."""

    name: str

    def read_cells(self, keys: Sequence[str]) -> dict[str, FieldValues]:
        """The current cells of the rows among `keys` that exist, by key."""
        ...

    def write_cells(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Set cells of existing rows; one result per update, in order."""
        ...

    def close(self) -> None:
        """Finish writing (render the file) and release resources."""
        ...


Target = CRM | Sheet


def as_crm(target: Target) -> CRM:
    """`target` as a CRM, or a ToolError saying the job needs one."""
    if isinstance(target, Sheet):
        raise ToolError(f"{target.name} is a file of links, not a CRM")
    return target


def as_sheet(target: Target) -> Sheet:
    """`target` as a sheet, or a ToolError saying the job needs one."""
    if not isinstance(target, Sheet):
        raise ToolError(f"{target.name} is a CRM, not a file of links")
    return target
