"""Records as adapters read and write them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.changes import FieldValues


@dataclass(slots=True)
class Record:
    """One record of an outside system: its key (a contact's e-mail) and field values.

    A plain dataclass: adapters make one per record they read, and every phase of a job
    reads each record it writes. `model_copy(update=...)` is kept for adapters written
    against the pydantic model this was."""

    key: str
    fields: FieldValues = field(default_factory=dict)

    def model_copy(self, update: dict[str, Any] | None = None) -> Record:
        """A copy with the fields in `update` replaced."""
        return replace(self, **(update or {}))


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to one write: `ok`, or the error the system gave for that item.

    A plain dataclass: adapters make one per item written, and nothing validates them
    (a pydantic model cost several times as much to make)."""

    key: str
    ok: bool
    error: str | None = None


class FieldInfo(BaseModel):
    """A field an object has in the outside system (for mapping and validation)."""

    model_config = ConfigDict(frozen=True)

    name: str
    label: str
    type: str = "string"
    writable: bool = True
