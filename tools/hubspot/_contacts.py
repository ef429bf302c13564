"""Contacts through HubSpot's batch endpoints, keyed by e-mail.

Creating is one batch create per 100 records: one request, where a rate limit counts every
request. Batch create is all or nothing: if any e-mail is taken (409 CONFLICT) or any input
invalid (400), nothing is created, and that chunk goes the careful way: a batch read (which
keys exist: those are item errors) and a batch upsert by e-mail of the new ones, with HubSpot's
per-item errors. A create is not resent after its answer was lost or a 5xx (it could create
the contacts twice, or fail them as taken by itself); the chunk is read back instead. Since a
create is all or nothing, one contact of the chunk created since the create was sent (by
HubSpot's `createdAt`, allowing `CLOCK_SKEW` between our clock and HubSpot's) means it made
them all: those not visible yet are upserted, which changes nothing if they are there. None
means it made none: the contacts there are item errors (taken), the rest are upserted. (A
contact of the chunk created by someone else within that skew is the race left here.) An
upsert retried after a dropped connection writes the same values again, so it neither
duplicates a contact nor fails one that the lost attempt made.
Updates and deletes look the contacts up by e-mail first and write by record id, so every
answer maps back to its key. (A contact created or deleted by someone else between the
look-up and the write is the one race left; HubSpot has no conditional writes.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tools.changes import FieldValues
from tools.http import Unanswered
from tools.hubspot._batch import (
    BATCH,
    EXISTS,
    MISSING,
    chunks,
    item_errors,
    results,
    unexplained,
)
from tools.hubspot._client import Client
from tools.hubspot._errors import UnexpectedAnswer
from tools.hubspot._fields import KEY, READ_PROPERTIES, to_properties, to_record
from tools.records import Record, WriteResult

BASE = "/crm/v3/objects/contacts"
PAGE = 100


# How far HubSpot's clock may be behind ours, for telling a contact a lost create made from
# one that was there before it.
CLOCK_SKEW = 30.0


@dataclass(frozen=True)
class Found:
    """A contact as read: its HubSpot record id, its record, and when it was created (epoch
    seconds, None if HubSpot did not say)."""

    id: str
    record: Record
    created: float | None = None


def fetch(client: Client, keys: Sequence[str]) -> dict[str, Found]:
    """The contacts among `keys` (e-mails) that exist, by key."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, Found] = {}
    for chunk in chunks(wanted, BATCH):
        answer = _read(client, [{"id": key} for key in chunk], by_email=True)
        asked = {key.casefold(): key for key in chunk}
        for item in _found(answer):
            # HubSpot may give the address back in another case than it was asked in.
            key = item.record.key if item.record.key in chunk else asked.get(
                item.record.key.casefold())
            if key is not None:
                found[key] = Found(item.id, item.record.model_copy(update={"key": key}),
                                   item.created)
    return found


def fetch_ids(client: Client, ids: Sequence[str]) -> dict[str, Found]:
    """The contacts among record `ids` that exist, by id."""
    found: dict[str, Found] = {}
    for chunk in chunks(list(dict.fromkeys(ids)), BATCH):
        for item in _found(_read(client, [{"id": i} for i in chunk], by_email=False)):
            found[item.id] = item
    return found


def create(client: Client, records: Sequence[Record]) -> list[WriteResult]:
    """Create the records whose keys are new; existing keys are item errors."""
    errors: dict[int, str] = {}
    todo: list[tuple[int, str, dict[str, str]]] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        properties = to_properties(record.fields, drop_empty=True)
        if not record.key.strip():
            errors[index] = "empty key"
        elif record.key in seen:
            errors[index] = EXISTS          # the same key twice in one call
        elif isinstance(properties, str):
            errors[index] = properties
        else:
            seen.add(record.key)
            todo.append((index, record.key, properties))
    for chunk in chunks(todo, BATCH):
        errors.update(_create(client, chunk))
    return results([record.key for record in records], errors)


Inputs = Sequence[tuple[int, str, dict[str, str]]]


def _create(client: Client, chunk: Inputs) -> dict[int, str]:
    """Create one chunk in one request if it can be done so; the item errors by index."""
    body = {"inputs": [{"properties": {**properties, KEY: key}, "associations": [],
                        "objectWriteTraceId": str(index)} for index, key, properties in chunk]}
    sent = time.time()
    try:
        client.call("POST", f"{BASE}/batch/create", json=body, ok=(201,), idempotent=False)
    except UnexpectedAnswer as exc:
        if exc.status not in (400, 409):
            raise
        return _create_carefully(client, chunk)     # a key taken, or an input refused
    except Unanswered:
        return _after_lost_create(client, chunk, sent)
    return {}


def _after_lost_create(client: Client, chunk: Inputs, sent: float) -> dict[int, str]:
    """The item errors of a chunk whose create, sent at `sent`, may or may not have been
    carried out: read back (see the module's docstring)."""
    found = fetch(client, [key for _, key, _ in chunk])
    made = any(f.created is not None and f.created >= sent - CLOCK_SKEW
               for f in found.values())
    if made:
        missing = [item for item in chunk if item[1] not in found]
        return _upsert(client, missing) if missing else {}
    return _create_carefully(client, chunk, found)


def _create_carefully(client: Client, chunk: Inputs,
                      existing: Mapping[str, Found] | None = None) -> dict[int, str]:
    """Existing keys (read now, unless given) are item errors; the rest are upserted by
    e-mail: per-item errors."""
    if existing is None:
        existing = fetch(client, [key for _, key, _ in chunk])
    errors = {index: EXISTS for index, key, _ in chunk if key in existing}
    new = [item for item in chunk if item[1] not in existing]
    if new:
        errors.update(_upsert(client, new))
    return errors


def update(client: Client, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
    """Set fields of existing contacts, in order (a later value of a field wins)."""
    errors: dict[int, str] = {}
    merged: dict[str, dict[str, str]] = {}
    for index, (key, fields) in enumerate(updates):
        properties = to_properties(fields, drop_empty=False)
        if isinstance(properties, str):
            errors[index] = properties
        else:
            merged[key] = {**merged.get(key, {}), **properties}
    existing = fetch(client, list(merged))
    inputs = [(existing[key].id, properties) for key, properties in merged.items()
              if key in existing and properties]
    failed: dict[str, str] = {}
    for chunk in chunks(inputs, BATCH):
        failed.update(_update(client, chunk))
    for index, (key, _) in enumerate(updates):
        if index in errors:
            continue
        if key not in existing:
            errors[index] = MISSING
        elif existing[key].id in failed:
            errors[index] = failed[existing[key].id]
    return results([key for key, _ in updates], errors)


def delete(client: Client, keys: Sequence[str]) -> list[WriteResult]:
    """Archive contacts (HubSpot's delete; they leave their lists); missing keys fail."""
    existing = fetch(client, keys)
    ids = list(dict.fromkeys(found.id for found in existing.values()))
    for chunk in chunks(ids, BATCH):
        # Archiving an id again (a retry after a dropped answer) is answered 204 as well.
        client.call("POST", f"{BASE}/batch/archive", json={"inputs": [{"id": i} for i in chunk]},
                    ok=(204,))
    return results(keys, {i: MISSING for i, key in enumerate(keys) if key not in existing})


def every(client: Client) -> Iterator[Found]:
    """Every contact, a page at a time, in HubSpot's order (record id)."""
    after: str | None = None
    while True:
        params = {"limit": PAGE, "properties": ",".join(READ_PROPERTIES), "archived": "false"}
        if after is not None:
            params["after"] = after
        _, answer = client.call("GET", BASE, params=params)
        yield from _found(answer)
        after = ((answer.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def _read(client: Client, inputs: list[dict[str, str]], *, by_email: bool) -> Any:
    body: dict[str, Any] = {"inputs": inputs, "properties": list(READ_PROPERTIES),
                            "propertiesWithHistory": []}
    if by_email:
        body["idProperty"] = KEY
    # A 207 lists the ids not found as errors: for a read that is an answer, not a failure.
    _, answer = client.call("POST", f"{BASE}/batch/read", json=body, ok=(200, 207))
    return answer


def _found(answer: Mapping[str, Any]) -> Iterator[Found]:
    for item in answer.get("results") or []:
        record = to_record(item.get("properties") or {})
        if record is not None:
            yield Found(str(item["id"]), record, _epoch(item.get("createdAt")))


def _epoch(stamp: Any) -> float | None:
    """An ISO 8601 time from HubSpot ("2026-11-24T04:10:00.123Z") as epoch seconds."""
    try:
        return datetime.fromisoformat(str(stamp)).timestamp() if stamp else None
    except ValueError:
        return None


def _upsert(client: Client, chunk: Inputs) -> dict[int, str]:
    """Upsert one chunk by e-mail; the item errors by input index."""
    body = {"inputs": [{"id": key, "idProperty": KEY, "properties": properties,
                        "objectWriteTraceId": str(index)} for index, key, properties in chunk]}
    try:
        _, answer = client.call("POST", f"{BASE}/batch/upsert", json=body, ok=(200, 207))
    except UnexpectedAnswer as exc:
        if exc.status != 400:
            raise
        return {index: f"HubSpot refused the batch: {exc.detail}" for index, _, _ in chunk}
    done: set[str] = set()
    for item in answer.get("results") or []:
        done.add(str(item.get("objectWriteTraceId", "")))
        done.add(str((item.get("properties") or {}).get(KEY, "")))
    failed = item_errors(answer)
    return {index: failed.get(str(index)) or failed.get(key) or unexplained(answer)
            for index, key, _ in chunk if str(index) not in done and key not in done}


def _update(client: Client, chunk: Sequence[tuple[str, dict[str, str]]]) -> dict[str, str]:
    """Update one chunk by record id; the item errors by record id."""
    body = {"inputs": [{"id": record_id, "properties": properties}
                       for record_id, properties in chunk]}
    try:
        _, answer = client.call("POST", f"{BASE}/batch/update", json=body, ok=(200, 207))
    except UnexpectedAnswer as exc:
        if exc.status != 400:
            raise
        return {record_id: f"HubSpot refused the batch: {exc.detail}" for record_id, _ in chunk}
    done = {str(item.get("id")) for item in answer.get("results") or []}
    failed = item_errors(answer)
    return {record_id: failed.get(record_id) or unexplained(answer)
            for record_id, _ in chunk if record_id not in done}
