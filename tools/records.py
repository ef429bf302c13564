"""Records as adapters read and write them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tools.changes import FieldValues


class Record(BaseModel):
    """One record of an outside system: its key (a contact's e-mail) and field values."""

    model_config = ConfigDict(extra="forbid")

    key: str
    fields: FieldValues = {}


class WriteResult(BaseModel):
    """What happened to one write: `ok`, or the error the system gave for that item."""

    model_config = ConfigDict(frozen=True)

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
