"""The language of writes: a `Change` says what one write will do, and what it replaces.

A change carries only the fields that change: `before` holds their current values (``None``
for "empty" or "absent"), `after` the values the write sets. Membership changes name the list
in `list_name` and carry ``{"member": false}`` → ``{"member": true}`` (or the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, get_args

import orjson
from pydantic import ConfigDict

Op = Literal["create", "update", "delete", "add_member", "remove_member"]
ObjectType = Literal["contact", "list", "list_membership", "link"]
FieldValues = dict[str, str | None]

_OPS, _OBJECTS = frozenset(get_args(Op)), frozenset(get_args(ObjectType))

MEMBER_OUT: FieldValues = {"member": None}
MEMBER_IN: FieldValues = {"member": "true"}


@dataclass(frozen=True, slots=True, init=False)
class Change:
    """One intended write to one record of an outside system.

    A frozen dataclass, not a pydantic model: every phase of a job makes or reads one per
    change, and a model cost twice as much to make. Where changes come from stored bytes
    (a plan's batches, the ledger) they are validated as a list with pydantic
    (`TypeAdapter(list[Change])`, extra fields forbidden); made in code, the operation, the
    object type and the key are checked here, and the field values are left to the type
    checker (checking them here would cost what the model did): a job kind that sets a
    value other than text has its plan refused when it is read back, for display or by the
    gate. `model_dump` and `model_copy` are kept for job kinds written against the model.
    """

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    op: Op
    object: ObjectType
    key: str
    before: FieldValues | None = None
    after: FieldValues | None = None
    list_name: str | None = None
    reason: str = ""

    def __init__(self, op: Op, object: ObjectType, key: str,
                 before: FieldValues | None = None, after: FieldValues | None = None,
                 list_name: str | None = None, reason: str = "") -> None:
        # What the generated __init__ of a frozen dataclass does (`object.__setattr__` per
        # field), through the slots' own setters: a third of the cost, and every phase
        # makes a change per write. Assignment afterwards still raises.
        _set_op(self, op)
        _set_object(self, object)
        _set_key(self, key)
        _set_before(self, before)
        _set_after(self, after)
        _set_list_name(self, list_name)
        _set_reason(self, reason)
        self.__post_init__()

    def __post_init__(self) -> None:   # pydantic calls it too, after validating stored bytes
        if self.op not in _OPS or self.object not in _OBJECTS:
            raise ValueError(f"a change needs an op of {sorted(_OPS)} and an object of "
                             f"{sorted(_OBJECTS)}, not {self.op!r} on {self.object!r}")
        if type(self.key) is not str:
            raise ValueError(f"a change's key must be text, not {self.key!r}")

    def canonical(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the bytes that plan digests hash."""
        return canonical_json(self.model_dump())

    def model_dump(self) -> dict[str, Any]:
        """The change as a dict of plain JSON values."""
        return {"after": self.after, "before": self.before, "key": self.key,
                "list_name": self.list_name, "object": self.object, "op": self.op,
                "reason": self.reason}

    def model_copy(self, update: dict[str, Any] | None = None) -> Change:
        """A copy with the fields in `update` replaced."""
        return replace(self, **(update or {}))


# The slots' setters (member descriptors), bound once for `Change.__init__`.
_set_op, _set_object, _set_key, _set_before, _set_after, _set_list_name, _set_reason = (
    Change.__dict__[name].__set__
    for name in ("op", "object", "key", "before", "after", "list_name", "reason"))


def canonical_json(value: object) -> bytes:
    """Serialise `value` deterministically: sorted keys, UTF-8, no insignificant whitespace."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
