"""Static lists of contacts (HubSpot's MANUAL lists), found by name, changed by record id.

A list is looked up by name on every call (names are what mops keeps; ids would go stale
when a list is deleted and made again). Retries are safe: adding or removing members twice
is no error at HubSpot; a create answered "duplicate name" or a delete answered 404, right
after we saw the list absent or present, means a retried attempt whose first answer was
lost had done it already.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from tools.hubspot import _contacts
from tools.hubspot._batch import BATCH, MISSING, NO_LIST, chunks, results
from tools.hubspot._client import Client
from tools.hubspot._errors import UnexpectedAnswer
from tools.records import WriteResult

BASE = "/crm/v3/lists"
CONTACTS = "0-1"                 # HubSpot's objectTypeId of contacts
STATIC = ("MANUAL", "SNAPSHOT")  # lists whose members are set by hand (or API)
MEMBER_CHUNK = 1000              # record ids per membership change
MEMBER_PAGE = 250                # HubSpot's largest page of memberships
SEARCH_PAGE = 500


def find(client: Client, name: str) -> str | None:
    """The id of the static contact list called `name`, if there is one."""
    found = _lookup(client, name)
    if found is None or found.get("processingType") not in STATIC:
        return None
    return str(found["listId"])


def _lookup(client: Client, name: str) -> dict[str, Any] | None:
    """The contact list called `name`, static or not, if there is one."""
    if not name:
        return None
    path = f"{BASE}/object-type-id/{CONTACTS}/name/{quote(name, safe='')}"
    status, answer = client.call("GET", path, ok=(200, 404))
    return dict(answer["list"]) if status == 200 else None


def create(client: Client, name: str) -> WriteResult:
    """Create an empty static list; an existing name is an error."""
    if not name.strip():
        return WriteResult(key=name, ok=False, error="empty list name")
    if _lookup(client, name) is not None:   # a list of any kind holds the name
        return WriteResult(key=name, ok=False, error="list already exists")
    body = {"name": name, "objectTypeId": CONTACTS, "processingType": "MANUAL"}
    status, answer = client.call("POST", BASE, json=body, ok=(200, 400, 409))
    if status == 200 or _duplicate_name(answer):
        return WriteResult(key=name, ok=True)
    return WriteResult(key=name, ok=False, error=f"HubSpot refused the list: "
                       f"{answer.get('category')}: {answer.get('message')}")


def delete(client: Client, name: str) -> WriteResult:
    """Delete a static list (HubSpot keeps it restorable for 90 days); missing: an error."""
    found = find(client, name)
    if found is None:
        return WriteResult(key=name, ok=False, error=NO_LIST)
    client.call("DELETE", f"{BASE}/{found}", ok=(204, 404))
    return WriteResult(key=name, ok=True)


def members(client: Client, name: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are members of the list."""
    found = find(client, name) if keys else None
    if found is None:
        return set()
    key_of = {item.id: key for key, item in _contacts.fetch(client, keys).items()}
    among: set[str] = set()
    for chunk in chunks(list(key_of), BATCH):
        body = {"inputs": [{"objectTypeId": CONTACTS, "recordId": i} for i in chunk]}
        _, answer = client.call("POST", f"{BASE}/records/memberships/batch/read", json=body,
                                ok=(200, 207))
        for item in answer.get("results") or []:
            lists = {str(m.get("listId")) for m in item.get("recordListMemberships") or []}
            if found in lists and str(item.get("recordId")) in key_of:
                among.add(key_of[str(item["recordId"])])
    return among


def count(client: Client, name: str) -> int:
    """How many members the list has (0 if it does not exist)."""
    found = find(client, name)
    return 0 if found is None else sum(1 for _ in _member_ids(client, found))


def add(client: Client, name: str, keys: Sequence[str]) -> list[WriteResult]:
    """Add contacts to a list; members already there are fine, unknown contacts are not."""
    return _change(client, "add", name, keys)


def remove(client: Client, name: str, keys: Sequence[str]) -> list[WriteResult]:
    """Remove contacts from a list; non-members (and unknown contacts) are fine."""
    return _change(client, "remove", name, keys)


def every(client: Client) -> Iterator[tuple[str, str]]:
    """Every (list name, contact key) of the static lists, by name, then key."""
    for name, list_id in sorted(_static_lists(client)):
        ids = list(_member_ids(client, list_id))
        keys = sorted(found.record.key for found in _contacts.fetch_ids(client, ids).values())
        yield from ((name, key) for key in keys)


def _change(client: Client, verb: str, name: str, keys: Sequence[str]) -> list[WriteResult]:
    found = find(client, name)
    if found is None:
        return results(keys, dict.fromkeys(range(len(keys)), NO_LIST))
    contacts = _contacts.fetch(client, keys)
    ids = list(dict.fromkeys(item.id for item in contacts.values()))
    gone: set[str] = set()
    try:
        for chunk in chunks(ids, MEMBER_CHUNK):
            _, answer = client.call("PUT", f"{BASE}/{found}/memberships/{verb}",
                                    json=list(chunk))
            gone |= {str(i) for i in answer.get("recordIdsMissing") or []}
    except UnexpectedAnswer as exc:
        if exc.status not in (400, 404):
            raise
        return results(keys, dict.fromkeys(range(len(keys)), f"HubSpot refused: {exc.detail}"))
    errors: dict[int, str] = {}
    if verb == "add":   # an unknown contact cannot be added; one not there is not removed
        errors = {i: MISSING for i, key in enumerate(keys)
                  if key not in contacts or contacts[key].id in gone}
    return results(keys, errors)


def _member_ids(client: Client, list_id: str) -> Iterator[str]:
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": MEMBER_PAGE}
        if after is not None:
            params["after"] = after
        _, answer = client.call("GET", f"{BASE}/{list_id}/memberships", params=params)
        yield from (str(item["recordId"]) for item in answer.get("results") or [])
        after = ((answer.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def _static_lists(client: Client) -> Iterator[tuple[str, str]]:
    offset = 0
    while True:
        body = {"query": "", "offset": offset, "count": SEARCH_PAGE,
                "processingTypes": list(STATIC), "additionalProperties": []}
        _, answer = client.call("POST", f"{BASE}/search", json=body)
        for item in answer.get("lists") or []:
            if item.get("objectTypeId") == CONTACTS and item.get("processingType") in STATIC:
                yield str(item["name"]), str(item["listId"])
        if not answer.get("hasMore"):
            return
        offset = int(answer["offset"])


def _duplicate_name(answer: Any) -> bool:
    text = f"{answer.get('subCategory', '')} {answer.get('message', '')}".upper()
    return "DUPLICATE" in text or "ALREADY EXISTS" in text
