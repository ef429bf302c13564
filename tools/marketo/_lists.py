"""Static lists: found by name through the Asset API, members changed through the Lead API.

The list operations of the Lead Database API (``/rest/v1/lists/{listId}/leads.json``,
``…/leads/ismember.json``) take lead ids, at most 300 a call; the list itself (create,
find by name, browse, delete) is an asset (``/rest/asset/v1/…``), not in the Lead Database
spec. A create or delete whose answer was lost is settled by looking the list up again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from tools.marketo._client import MarketoClient
from tools.marketo._fields import Schema
from tools.marketo._leads import find, pages
from tools.marketo._results import (
    BATCH,
    LEAD_NOT_FOUND,
    MISSING,
    NO_LIST,
    aligned,
    chunks,
    failed,
    reason,
    results,
)
from tools.records import WriteResult

ASSETS = "/rest/asset/v1"
NO_DATA = "702"            # "no data found": an asset looked up that is not there
RULE_BROKEN = "709"        # e.g. a static list name already in use
NOT_IN_LIST = "1015"
_BROWSE = 200              # maxReturn of an asset browse, at most


class Folder(BaseModel):
    """Where new static lists go: a folder or a program of the instance."""

    id: int
    type: str = "Folder"


def find_list(client: MarketoClient, name: str) -> int | None:
    """The id of the static list called `name`, if there is one."""
    if not name:
        return None
    answer = client.call("GET", f"{ASSETS}/staticList/byName.json", params={"name": name},
                         accept={NO_DATA})
    return next((int(item["id"]) for item in answer.result if item.get("name") == name), None)


def create_list(client: MarketoClient, name: str, folder: Folder) -> WriteResult:
    """Create an empty static list; an existing name is an error."""
    if not name:
        return failed(name, "empty list name")
    if find_list(client, name) is not None:
        return failed(name, "list already exists")
    form = {"name": name, "folder": folder.model_dump_json()}
    answer = client.call("POST", f"{ASSETS}/staticLists.json", data=form, accept={RULE_BROKEN})
    # A refusal here may be the name taken by this very call's earlier attempt, whose answer
    # was lost: the list exists as asked, then.
    if answer.success or find_list(client, name) is not None:
        return WriteResult(key=name, ok=True)
    return failed(name, f"Marketo {answer.problem.code}: {answer.problem.message}")


def delete_list(client: MarketoClient, name: str) -> WriteResult:
    """Delete a static list (its memberships go with it); a missing list is an error."""
    found = find_list(client, name)
    if found is None:
        return failed(name, NO_LIST)
    answer = client.call("POST", f"{ASSETS}/staticList/{found}/delete.json",
                         accept={NO_DATA, RULE_BROKEN})
    if answer.success or find_list(client, name) is None:
        return WriteResult(key=name, ok=True)
    return failed(name, f"Marketo {answer.problem.code}: {answer.problem.message}")


def members(client: MarketoClient, schema: Schema, name: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are members of the list (none if it does not exist)."""
    found = find_list(client, name) if keys else None
    if found is None:
        return set()
    leads = find(client, schema, keys)
    ids = list(dict.fromkeys(int(lead["id"]) for lead in leads.values()))
    inside: set[int] = set()
    for group in chunks(ids, BATCH):
        answer = client.call("GET", f"/rest/v1/lists/{found}/leads/ismember.json",
                             params={"id": ",".join(map(str, group))})
        inside |= {int(item["id"]) for item in answer.result if item.get("status") == "memberof"}
    return {key for key in keys
            if key.lower() in leads and int(leads[key.lower()]["id"]) in inside}


def count(client: MarketoClient, name: str) -> int:
    """How many members the list has (0 if it does not exist)."""
    found = find_list(client, name)
    return 0 if found is None else sum(1 for _ in _member_leads(client, found, "id"))


def add(client: MarketoClient, schema: Schema, name: str, keys: Sequence[str]
        ) -> list[WriteResult]:
    """Add contacts to a list; members already in it are fine, unknown contacts are not."""
    return _change(client, schema, name, keys, "POST")


def remove(client: MarketoClient, schema: Schema, name: str, keys: Sequence[str]
           ) -> list[WriteResult]:
    """Remove contacts from a list; removing a non-member (or a non-contact) is fine."""
    return _change(client, schema, name, keys, "DELETE")


def memberships(client: MarketoClient, schema: Schema) -> Iterator[tuple[str, str]]:
    """Every (list name, contact e-mail), ordered by list name, then e-mail."""
    for name, list_id in sorted(_all_lists(client)):
        keys = [schema.key_of(lead) for lead in _member_leads(client, list_id, schema.key_field)]
        yield from ((name, key) for key in sorted(keys))


def _change(client: MarketoClient, schema: Schema, name: str, keys: Sequence[str],
            method: str) -> list[WriteResult]:
    if not keys:
        return []
    found = find_list(client, name)
    if found is None:
        return results(keys, dict.fromkeys(range(len(keys)), NO_LIST))
    leads = find(client, schema, keys)
    ids = list(dict.fromkeys(int(lead["id"]) for lead in leads.values()))
    refused: dict[int, str] = {}
    where = f"{method} /rest/v1/lists/{found}/leads.json"
    for group in chunks(ids, BATCH):
        sent = [{"id": lead_id} for lead_id in group]
        answer = client.call(method, f"/rest/v1/lists/{found}/leads.json", json={"input": sent})
        for lead_id, item in zip(group, aligned(where, sent, answer.result), strict=True):
            if item.get("status") in ("added", "removed"):
                continue
            code, text = reason(item)
            if method == "POST" or code not in (NOT_IN_LIST, LEAD_NOT_FOUND):
                refused[lead_id] = text
    errors: dict[int, str] = {}
    for index, key in enumerate(keys):
        lead = leads.get(key.lower())
        if lead is None:
            if method == "POST":
                errors[index] = MISSING
        elif int(lead["id"]) in refused:
            errors[index] = refused[int(lead["id"])]
    return results(keys, errors)


def _all_lists(client: MarketoClient) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    offset = 0
    while True:
        answer = client.call("GET", f"{ASSETS}/staticLists.json",
                             params={"offset": offset, "maxReturn": _BROWSE}, accept={NO_DATA})
        found += [(str(item["name"]), int(item["id"])) for item in answer.result]
        if len(answer.result) < _BROWSE:
            return found
        offset += _BROWSE


def _member_leads(client: MarketoClient, list_id: int, fields: str) -> Iterator[dict[str, Any]]:
    return pages(client, f"/rest/v1/lists/{list_id}/leads.json",
                 {"fields": fields, "batchSize": BATCH})
