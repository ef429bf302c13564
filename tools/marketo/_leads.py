"""Leads: looked up by e-mail, created, updated and deleted in calls of at most 300.

Writes are made so that a call retried after its answer was lost (a dropped connection)
changes nothing more the second time:

- create: the keys are looked up first; the ones that exist are item errors; the others are
  sent with ``action: createOrUpdate``, so a retry of that call updates the leads it
  created with the same values, and creates no second one;
- update: ``action: updateOnly``, repeated updates of one key merged in order;
- delete: by lead id, looked up first; a lead already gone when the delete arrives (1004)
  was deleted by the earlier attempt, and counts as deleted.

Marketo matches e-mails without regard to case; so does this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from tools.changes import FieldValues
from tools.marketo._client import MarketoClient
from tools.marketo._fields import Schema
from tools.marketo._results import (
    BATCH,
    EXISTS,
    LEAD_NOT_FOUND,
    MISSING,
    aligned,
    chunks,
    reason,
    results,
)
from tools.records import Record, WriteResult

LEADS = "/rest/v1/leads.json"
# Marketo refuses a URI over 8 KB (HTTP 414): the e-mails of one look-up stay within this.
_QUERY_BYTES = 6000
_SYNCED = frozenset({"created", "updated"})


def pages(client: MarketoClient, path: str, params: Mapping[str, Any]
          ) -> Iterator[dict[str, Any]]:
    """Every record of a paged GET, following ``nextPageToken``."""
    token: str | None = None
    while True:
        page = dict(params, nextPageToken=token) if token else params
        envelope = client.call("GET", path, params=page)
        yield from envelope.result
        token = envelope.nextPageToken
        if not token or not envelope.result:
            return


def find(client: MarketoClient, schema: Schema, keys: Sequence[str],
         fields: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """The leads whose e-mail is among `keys`, by lower-cased e-mail (the lowest id when
    several share one), with their id and the Marketo `fields` asked for."""
    wanted = list(dict.fromkeys(k.lower() for k in keys if k and "," not in k))
    asked = ",".join(dict.fromkeys([schema.key_field, *fields]))
    found: dict[str, dict[str, Any]] = {}
    for group in _by_length(wanted):
        params = {"filterType": schema.key_field, "filterValues": ",".join(group),
                  "fields": asked, "batchSize": BATCH}
        for lead in sorted(pages(client, LEADS, params), key=lambda lead: lead["id"]):
            found.setdefault(schema.key_of(lead).lower(), lead)
    return found


def read(client: MarketoClient, schema: Schema, keys: Sequence[str]) -> dict[str, Record]:
    """The contacts among `keys`, by key as asked."""
    found = find(client, schema, keys, schema.names)
    out: dict[str, Record] = {}
    for key in keys:
        lead = found.get(key.lower())
        if lead is not None and key not in out:
            out[key] = Record(key=key, fields=schema.values(lead))
    return out


def create(client: MarketoClient, schema: Schema, records: Sequence[Record]
           ) -> list[WriteResult]:
    """Create the records whose keys are new; the others are item errors."""
    errors: dict[int, str] = {}
    seen: set[str] = set()
    todo: list[int] = []
    for index, record in enumerate(records):
        lowered = record.key.lower()
        error = _key_error(record.key) or schema.problem(record.fields)
        if error is None and lowered in seen:   # a second record of one key in this call
            error = EXISTS
        if error:
            errors[index] = error
            continue
        seen.add(lowered)
        todo.append(index)
    existing = find(client, schema, [records[i].key for i in todo])
    fresh = [i for i in todo if records[i].key.lower() not in existing]
    errors.update({i: EXISTS for i in todo if records[i].key.lower() in existing})
    leads = [schema.lead(records[i].key, records[i].fields, create=True) for i in fresh]
    for index, item in zip(fresh, sync(client, schema, "createOrUpdate", leads), strict=True):
        if item.get("status") not in _SYNCED:
            errors[index] = reason(item)[1]
    return results([record.key for record in records], errors)


def update(client: MarketoClient, schema: Schema,
           updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
    """Set fields of existing contacts; repeated keys merged, a later value winning."""
    errors: dict[int, str] = {}
    merged: dict[str, tuple[str, FieldValues]] = {}
    for index, (key, fields) in enumerate(updates):
        error = _key_error(key) or schema.problem(fields)
        if error:
            errors[index] = error
            continue
        lowered = key.lower()
        earlier = merged.get(lowered)
        merged[lowered] = (key, {**earlier[1], **fields}) if earlier else (key, dict(fields))
    leads = [schema.lead(key, fields, create=False) for key, fields in merged.values()]
    outcome = {
        lowered: reason(item)[1]
        for lowered, item in zip(merged, sync(client, schema, "updateOnly", leads), strict=True)
        if item.get("status") not in _SYNCED
    }
    for index, (key, _) in enumerate(updates):
        if index not in errors and key.lower() in outcome:
            errors[index] = outcome[key.lower()]
    return results([key for key, _ in updates], errors)


def delete(client: MarketoClient, schema: Schema, keys: Sequence[str]) -> list[WriteResult]:
    """Delete contacts (their memberships go with them); a missing key is an item error."""
    found = find(client, schema, keys)
    ids = list(dict.fromkeys(int(lead["id"]) for lead in found.values()))
    refused: dict[int, str] = {}
    for group in chunks(ids, BATCH):
        sent = [{"id": lead_id} for lead_id in group]
        where = "POST /rest/v1/leads/delete.json"
        answer = client.call("POST", "/rest/v1/leads/delete.json", json={"input": sent})
        for lead_id, item in zip(group, aligned(where, sent, answer.result), strict=True):
            code, text = reason(item)
            if item.get("status") != "deleted" and code != LEAD_NOT_FOUND:
                refused[lead_id] = text
    errors: dict[int, str] = {}
    for index, key in enumerate(keys):
        lead = found.get(key.lower())
        if lead is None:
            errors[index] = MISSING
        elif int(lead["id"]) in refused:
            errors[index] = refused[int(lead["id"])]
    return results(keys, errors)


def sync(client: MarketoClient, schema: Schema, action: str,
         leads: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``POST /rest/v1/leads.json`` in calls of at most 300: one result per lead, in order."""
    out: list[dict[str, Any]] = []
    for group in chunks(leads, BATCH):
        body = {"action": action, "lookupField": schema.key_field, "input": list(group)}
        answer = client.call("POST", LEADS, json=body)
        out.extend(aligned(f"POST {LEADS}", group, answer.result))
    return out


def _key_error(key: str) -> str | None:
    if not key:
        return "empty key"
    if "," in key:   # filterValues is comma-separated: such a key cannot be looked up
        return "a key with a comma cannot be looked up in Marketo"
    return None


def _by_length(values: Sequence[str]) -> Iterator[list[str]]:
    """`values` in groups of at most 300 whose URL-encoded length fits in one GET."""
    group: list[str] = []
    size = 0
    for value in values:
        cost = len(quote(value, safe="")) + 3   # and its encoded comma
        if group and (len(group) == BATCH or size + cost > _QUERY_BYTES):
            yield group
            group, size = [], 0
        group.append(value)
        size += cost
    if group:
        yield group
