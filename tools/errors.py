"""Errors raised by tools.

    ToolError
    ├── InputError            the user's input is wrong: names the file, row and field
    │   └── CsvError          a CSV file cannot be read as a table of leads
    └── SystemFault           an outside system failed (down, timed out); may be retried
"""

from __future__ import annotations


class ToolError(Exception):
    """Base of every error raised in `tools/`."""


class InputError(ToolError):
    """Bad input from the user; the message names the file, row and field where it can."""

    def __init__(
        self, message: str, *, file: str | None = None, row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file, self.row, self.field = file, row, field
        where = ", ".join(
            part for part in (
                file,
                f"row {row}" if row is not None else None,
                f"field {field!r}" if field else None,
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class CsvError(InputError):
    """A CSV file that cannot be read as leads: binary, bad encoding, no header, no email."""


class SystemFault(ToolError):
    """An outside system failed in a way that retrying may fix."""
