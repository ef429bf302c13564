"""The language of writes: a `Change` says what one write will do, and what it replaces.

A change carries only the fields that change: `before` holds their current values (``None``
for "empty" or "absent"), `after` the values the write sets. Membership changes name the list
in `list_name` and carry ``{"member": false}`` → ``{"member": true}`` (or the reverse).
"""

from __future__ import annotations

from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict

Op = Literal["create", "update", "delete", "add_member", "remove_member"]
ObjectType = Literal["contact", "list", "list_membership", "link"]
FieldValues = dict[str, str | None]

MEMBER_OUT: FieldValues = {"member": None}
MEMBER_IN: FieldValues = {"member": "true"}


class Change(BaseModel):
    """One intended write to one record of an outside system."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Op
    object: ObjectType
    key: str
    before: FieldValues | None = None
    after: FieldValues | None = None
    list_name: str | None = None
    reason: str = ""

    def canonical(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the bytes that plan digests hash.

        The same bytes as ``canonical_json(self.model_dump())``: every field is a plain JSON
        value, so the field values are serialised as they are, without pydantic's dump.
        """
        return canonical_json(self.__dict__)


def canonical_json(value: object) -> bytes:
    """Serialise `value` deterministically: sorted keys, UTF-8, no insignificant whitespace."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
