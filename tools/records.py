"""Records as adapters read and write them."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tools.changes import FieldValues


class Record(BaseModel):
    """One record of an outside system: its key (a contact's e-mail) and field values."""

    model_config = ConfigDict(extra="forbid")

    key: str
    fields: FieldValues = {}


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
