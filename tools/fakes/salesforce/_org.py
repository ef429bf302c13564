"""The records of a fake org, the checks Salesforce makes on each write, and query evaluation.

Semantics kept from Salesforce: 18-character ids with a key prefix per object (``003``
Contact, ``701`` Campaign, ``00v`` CampaignMember); an empty string is stored as null; text
comparisons in WHERE are case-insensitive; deleting a Contact or a Campaign deletes its
campaign members; a deleted id answers ENTITY_IS_DELETED; external ids are unique (and, as
the org is meant to be set up, case-sensitive). Simplified: ORDER BY compares by code point
(Salesforce sorts text by the user's locale, case-insensitively), nulls first.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tools.fakes.salesforce._errors import ApiError, ItemError
from tools.fakes.salesforce._schema import (
    BY_PREFIX,
    CAMPAIGN_MEMBER,
    CONTACT,
    SCHEMA,
    FieldSpec,
    ObjectSpec,
    Value,
)
from tools.fakes.salesforce._soql import Condition, Query

Row = dict[str, Value]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# Salesforce's own check is looser than RFC 5322 and stricter than "has an @".
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def salesforce_id(prefix: str, serial: int) -> str:
    """An 18-character id: prefix, serial in base 62, and the case-safe checksum suffix."""
    digits = ""
    while serial:
        serial, rest = divmod(serial, 62)
        digits = _BASE62[rest] + digits
    short = prefix + "000" + digits.rjust(9, "0")
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(short[chunk * 5:chunk * 5 + 5])
                   if "A" <= char <= "Z")
        suffix += _SUFFIX[bits]
    return short + suffix


def spec_of(record_id: str) -> ObjectSpec | None:
    """The object an id belongs to, from its key prefix (None: not one of ours)."""
    if not re.fullmatch(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?", record_id):
        return None
    return BY_PREFIX.get(record_id[:3])


class Org:
    """Contacts, Campaigns and CampaignMembers, with the indexes queries and writes use."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Row]] = {name: {} for name in SCHEMA}
        self.deleted: set[str] = set()
        self._serial = 0
        self._external: dict[tuple[str, str, str], str] = {}   # (type, field, value) -> id
        self._emails: dict[str, set[str]] = {}                 # lower-cased Email -> ids
        self._members: dict[str, dict[str, str]] = {}          # campaign -> contact -> member
        self._memberships: dict[str, dict[str, str]] = {}      # contact -> campaign -> member

    def snapshot(self) -> dict[str, Any]:
        """Everything, copied: to roll back an allOrNone request that failed."""
        return copy.deepcopy(self.__dict__)

    def restore(self, saved: dict[str, Any]) -> None:
        """Go back to a `snapshot`."""
        self.__dict__.update(saved)

    # --- values ---------------------------------------------------------------------------

    @staticmethod
    def clean(spec: ObjectSpec, raw: dict[str, object]) -> Row:
        """Field values by canonical name; an unknown field or a value of the wrong JSON
        type refuses the whole request, as Salesforce's deserialiser does."""
        values: Row = {}
        for name, value in raw.items():
            field = spec.field(name)
            if field is None:
                raise ApiError(400, "INVALID_FIELD",
                               f"No such column '{name}' on sobject of type {spec.name}")
            wanted = bool if field.type == "boolean" else str
            if value is None or value == "":
                values[field.name] = None
            elif isinstance(value, wanted) and isinstance(value, str | bool):
                values[field.name] = value
            else:
                raise ApiError(400, "JSON_PARSER_ERROR",
                               f"Cannot deserialize instance of {wanted.__name__} for field "
                               f"{field.name}")
        return values

    def _check(self, spec: ObjectSpec, values: Row, current: Row | None) -> None:
        """The per-record checks of a create (`current` None) or an update."""
        for name, value in values.items():
            field = spec.field(name)
            assert field is not None  # values come from `clean`
            if not (field.createable if current is None else field.updateable):
                raise ItemError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                f"Unable to create/update fields: {name}. Please check the "
                                "security settings of this field.", [name])
            if isinstance(value, str):
                _check_text(field, value)
            if field.external_id and value is not None:
                other = self._external.get((spec.name, name, str(value)))
                if other is not None and (current is None or other != current["Id"]):
                    raise ItemError("DUPLICATE_VALUE", f"duplicate value found: {name} "
                                    f"duplicates value on record with id: {other}", [name])
            if field.reference_to and value is not None:
                self._check_reference(field, str(value))
        merged = {**(current or {}), **values}
        missing = [f.name for f in spec.fields if f.required and merged.get(f.name) is None]
        if missing:
            raise ItemError("REQUIRED_FIELD_MISSING",
                            f"Required fields are missing: [{', '.join(missing)}]", missing)

    def _check_reference(self, field: FieldSpec, value: str) -> None:
        target = spec_of(value)
        if target is None or target.name != field.reference_to:
            raise ItemError("MALFORMED_ID", f"{field.label}: id value of incorrect type: "
                            f"{value}", [field.name])
        if value not in self.rows[target.name]:
            raise ItemError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                            [field.name])

    # --- writes -----------------------------------------------------------------------------

    def insert(self, spec: ObjectSpec, values: Row) -> str:
        """Create a record; its id."""
        if "Id" in values:
            raise ItemError("INVALID_FIELD_FOR_INSERT_UPDATE",
                            "cannot specify Id in an insert call", ["Id"])
        self._check(spec, values, None)
        if spec is CAMPAIGN_MEMBER:
            contact, campaign = str(values["ContactId"]), str(values["CampaignId"])
            if contact in self._members.get(campaign, {}):
                raise ItemError("DUPLICATE_VALUE", "Already a campaign member.")
            values = {"Status": "Sent", **values}
        self._serial += 1
        record_id = salesforce_id(spec.prefix, self._serial)
        row: Row = {f.name: None for f in spec.fields}
        row.update(values, Id=record_id)
        self.rows[spec.name][record_id] = row
        self._index(spec, row)
        return record_id

    def update(self, spec: ObjectSpec, values: Row) -> str:
        """Set fields of the record whose ``Id`` is in `values`; its id."""
        record_id = str(values.pop("Id", None) or "")
        if not record_id:
            raise ItemError("MISSING_ARGUMENT", "Id not specified in an update call")
        row = self._live(record_id, spec)
        self._check(spec, values, row)
        self._unindex(spec, row)
        row.update(values)
        self._index(spec, row)
        return record_id

    def upsert(self, spec: ObjectSpec, external: str, values: Row) -> tuple[str, bool]:
        """Update the record whose external id matches, or create one; (id, created)."""
        key = values.get(external)
        if key is None or key == "":
            raise ItemError("MISSING_ARGUMENT", f"{external} not specified", [external])
        found = self._external.get((spec.name, external, str(key)))
        if found is None:
            return self.insert(spec, values), True
        return self.update(spec, {**values, "Id": found}), False

    def delete(self, record_id: str) -> None:
        """Delete a record (and the campaign members of a Contact or a Campaign)."""
        spec = spec_of(record_id)
        if spec is None:
            raise ItemError("MALFORMED_ID", f"malformed id {record_id}")
        row = self._live(record_id, spec)
        if spec.name in ("Contact", "Campaign"):
            index = self._memberships if spec is CONTACT else self._members
            members = self.rows[CAMPAIGN_MEMBER.name]
            for member in list(index.get(record_id, {}).values()):
                self._remove(CAMPAIGN_MEMBER, members[member])
        self._remove(spec, row)

    def _live(self, record_id: str, spec: ObjectSpec) -> Row:
        if spec_of(record_id) is not spec:
            raise ItemError("MALFORMED_ID", f"malformed id {record_id}")
        row = self.rows[spec.name].get(record_id)
        if row is None:
            if record_id in self.deleted:
                raise ItemError("ENTITY_IS_DELETED", "entity is deleted")
            raise ItemError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        return row

    def _remove(self, spec: ObjectSpec, row: Row) -> None:
        self._unindex(spec, row)
        del self.rows[spec.name][str(row["Id"])]
        self.deleted.add(str(row["Id"]))

    def _index(self, spec: ObjectSpec, row: Row) -> None:
        self._reindex(spec, row, add=True)

    def _unindex(self, spec: ObjectSpec, row: Row) -> None:
        self._reindex(spec, row, add=False)

    def _reindex(self, spec: ObjectSpec, row: Row, *, add: bool) -> None:
        record_id = str(row["Id"])
        for field in spec.fields:
            value = row.get(field.name)
            if field.external_id and value is not None:
                key = (spec.name, field.name, str(value))
                if add:
                    self._external[key] = record_id
                else:
                    self._external.pop(key, None)
        if spec is CONTACT and isinstance(row.get("Email"), str):
            ids = self._emails.setdefault(str(row["Email"]).lower(), set())
            if add:
                ids.add(record_id)
            else:
                ids.discard(record_id)
        if spec is CAMPAIGN_MEMBER:
            campaign, contact = str(row["CampaignId"]), str(row["ContactId"])
            if add:
                self._members.setdefault(campaign, {})[contact] = record_id
                self._memberships.setdefault(contact, {})[campaign] = record_id
            else:
                self._members.get(campaign, {}).pop(contact, None)
                self._memberships.get(contact, {}).pop(campaign, None)

    # --- queries ----------------------------------------------------------------------------

    def select(self, query: Query) -> list[Row]:
        """The rows a query selects, ordered and limited."""
        spec = query.object
        unique = {str(row["Id"]): row for row in self._candidates(query)}
        rows = [row for row in unique.values()
                if all(self._holds(spec, row, c) for c in query.where)]
        if query.order_by:
            name = query.order_by
            rows.sort(key=lambda r: str(r["Id"]))
            rows.sort(key=lambda r: _sort_key(self.value(spec, r, name)),
                      reverse=query.descending)
        else:
            rows.sort(key=lambda r: str(r["Id"]))
        return rows if query.limit is None else rows[:query.limit]

    def value(self, spec: ObjectSpec, row: Row, name: str) -> Value:
        """A field of `row`, or of its parent for ``Parent.Field``."""
        relation, _, child = name.rpartition(".")
        if not relation:
            return row.get(name)
        parent = self.parent(spec, row, relation)
        return None if parent is None else parent.get(child)

    def parent(self, spec: ObjectSpec, row: Row, relation: str) -> Row | None:
        """The parent record reached through `relation` (e.g. a member's Contact)."""
        parent_id = row.get(spec.parents[relation])
        return None if parent_id is None else self.rows[relation].get(str(parent_id))

    def _candidates(self, query: Query) -> list[Row]:
        spec, table = query.object, self.rows[query.object.name]
        conditions = {c.field: c for c in query.where if c.op != "!="}
        if spec is CONTACT and "Email" in conditions:
            return [table[i] for v in conditions["Email"].values if isinstance(v, str)
                    for i in self._emails.get(v.lower(), ())]
        campaign = conditions.get("CampaignId")
        if spec is CAMPAIGN_MEMBER and campaign is not None:
            members: dict[str, str] = {}
            for value in campaign.values:
                members.update(self._members.get(str(value), {}))
            contacts = self._contacts_of(conditions)
            if contacts is not None:
                return [table[members[c]] for c in contacts if c in members]
            return [table[m] for m in members.values()]
        return list(table.values())

    def _contacts_of(self, conditions: dict[str, Condition]) -> set[str] | None:
        if "ContactId" in conditions:
            return {str(v) for v in conditions["ContactId"].values}
        if "Contact.Email" in conditions:
            return {i for v in conditions["Contact.Email"].values if isinstance(v, str)
                    for i in self._emails.get(v.lower(), ())}
        return None

    def _holds(self, spec: ObjectSpec, row: Row, condition: Condition) -> bool:
        value = _fold(self.value(spec, row, condition.field))
        wanted = {_fold(v) for v in condition.values}
        if condition.op == "!=":
            return value not in wanted
        return value in wanted


def _check_text(field: FieldSpec, value: str) -> None:
    if len(value) > field.length:
        raise ItemError("STRING_TOO_LONG", f"{field.label}: data value too large: "
                        f"{value[:40]} (max length={field.length})", [field.name])
    if field.type == "email" and not _EMAIL.fullmatch(value):
        raise ItemError("INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: "
                        f"{value[:80]}", [field.name])


def _fold(value: Value) -> Value:
    """Text compares case-insensitively in SOQL."""
    return value.lower() if isinstance(value, str) else value


def _sort_key(value: Value) -> tuple[int, str]:
    return (0, "") if value is None else (1, str(value))
