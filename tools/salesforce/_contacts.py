"""Contacts by e-mail: find, read, create, update, delete, in bulk.

A mops key is an e-mail; Salesforce matches e-mails case-insensitively, and so does the
adapter. Contacts are found by ``Email`` (SOQL ``IN`` lists), so those an org already had
before mops, without ``Mops_Key__c``, are found too. Should an org hold several Contacts
with one e-mail, the one mops created (``Mops_Key__c`` matches) is used, else the oldest.

Creating is safe to retry: the e-mails are looked up first (an existing one is an item
error), then the new ones are upserted on ``Mops_Key__c``. A request whose answer was lost
(a dropped connection) and is sent again updates the contacts it created the first time,
with the same values, instead of creating them twice. (The price: two writers creating one
e-mail at the same moment both succeed, the later values winning; still one Contact.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tools.changes import FieldValues
from tools.records import Record, WriteResult
from tools.results import EXISTS, MISSING, results
from tools.salesforce._api import SalesforceApi
from tools.salesforce._fields import (
    EXTERNAL_ID,
    ID_FIELDS,
    KEY_FIELD,
    READ_FIELDS,
    external_key,
    from_salesforce,
    to_salesforce,
    unknown_field,
)
from tools.salesforce._soql import in_lists

EMPTY_KEY = "empty key"
GONE = "ENTITY_IS_DELETED"  # deleting what a lost answer already deleted: done, not failed

Row = dict[str, Any]


def find(api: SalesforceApi, keys: Iterable[str], fields: Sequence[str] = ID_FIELDS,
         ) -> dict[str, Row]:
    """The Contact row for each key found, by lower-cased key."""
    found: dict[str, Row] = {}
    wanted = (external_key(key) for key in keys if key)
    for _, clause in in_lists(wanted):
        soql = f"SELECT {', '.join(fields)} FROM Contact WHERE {KEY_FIELD} IN {clause}"
        for row in api.query(soql):
            email = external_key(str(row.get(KEY_FIELD) or ""))
            if email and (email not in found or _prefer(row, found[email], email)):
                found[email] = row
    return found


def _prefer(row: Row, best: Row, email: str) -> bool:
    """Whether `row` is a better match for `email` than `best`: mops's own, else older."""
    mine, theirs = row.get(EXTERNAL_ID) == email, best.get(EXTERNAL_ID) == email
    if mine != theirs:
        return mine
    return str(row["Id"]) < str(best["Id"])


def read(api: SalesforceApi, keys: Sequence[str]) -> dict[str, Record]:
    """The contacts among `keys`, by the key asked for."""
    found = find(api, keys, READ_FIELDS)
    return {key: Record(key=key, fields=from_salesforce(found[external_key(key)]))
            for key in keys if key and external_key(key) in found}


def stream(api: SalesforceApi) -> Iterator[Record]:
    """Every Contact with an e-mail, in ``ORDER BY Email`` order (see `SalesforceCRM`)."""
    soql = (f"SELECT {', '.join(READ_FIELDS)} FROM Contact WHERE {KEY_FIELD} != null "
            f"ORDER BY {KEY_FIELD}")
    for row in api.query(soql):
        yield Record(key=str(row[KEY_FIELD]), fields=from_salesforce(row))


def create(api: SalesforceApi, records: Sequence[Record]) -> list[WriteResult]:
    """Create the records whose e-mails are new; the others are item errors."""
    errors: dict[int, str] = {}
    seen: set[str] = set()
    todo: list[int] = []
    for index, record in enumerate(records):
        low = external_key(record.key)
        error = (EMPTY_KEY if not record.key else EXISTS if low in seen
                 else unknown_field(record.fields))
        if error:
            errors[index] = error
        else:
            seen.add(low)
            todo.append(index)
    existing = find(api, (records[i].key for i in todo))
    payload: list[Row] = []
    sent: list[int] = []
    for index in todo:
        record = records[index]
        if external_key(record.key) in existing:
            errors[index] = EXISTS
            continue
        payload.append({"attributes": {"type": "Contact"}, EXTERNAL_ID: external_key(record.key),
                        KEY_FIELD: record.key, **to_salesforce(record.fields, creating=True)})
        sent.append(index)
    for index, result in zip(sent, api.upsert("Contact", EXTERNAL_ID, payload), strict=True):
        if not result.success:
            errors[index] = result.error()
    return results([r.key for r in records], errors)


def update(api: SalesforceApi, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
    """Set fields of existing contacts; several updates of one key merge, later ones winning."""
    errors: dict[int, str] = {}
    merged: dict[str, FieldValues] = {}
    for index, (key, fields) in enumerate(updates):
        error = EMPTY_KEY if not key else unknown_field(fields)
        if error:
            errors[index] = error
        else:
            low = external_key(key)
            merged[low] = {**merged.get(low, {}), **fields}
    found = find(api, merged)
    targets = [low for low, fields in merged.items() if fields and low in found]
    payload = [{"attributes": {"type": "Contact"}, "id": found[low]["Id"],
                **to_salesforce(merged[low], creating=False)} for low in targets]
    failed = {low: r.error() for low, r in zip(targets, api.update(payload), strict=True)
              if not r.success}
    for index, (key, _) in enumerate(updates):
        low = external_key(key)
        if index not in errors and (low not in found or low in failed):
            errors[index] = failed.get(low, MISSING)
    return results([key for key, _ in updates], errors)


def delete(api: SalesforceApi, keys: Sequence[str]) -> list[WriteResult]:
    """Delete contacts (Salesforce deletes their campaign memberships with them)."""
    found = find(api, keys)
    ids = list(dict.fromkeys(str(row["Id"]) for row in found.values()))
    failed = {record_id: r.error() for record_id, r in zip(ids, api.delete(ids), strict=True)
              if not r.success and not r.failed_with(GONE)}
    errors: dict[int, str] = {}
    for index, key in enumerate(keys):
        row = found.get(external_key(key))
        if row is None:
            errors[index] = MISSING
        elif str(row["Id"]) in failed:
            errors[index] = failed[str(row["Id"])]
    return results(keys, errors)

