"""The lists endpoints of the fake: create, find by name, delete, search, and memberships."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.fakes.hubspot._answers import Refusal, bad_request, batch, item_error, not_found
from tools.fakes.hubspot._contacts import check_size
from tools.fakes.hubspot._state import CONTACTS_TYPE, ContactList, HubSpotState, now_iso

Answer = tuple[int, Any]
STATIC = ("MANUAL", "SNAPSHOT")
MAX_MEMBER_PAGE = 250
MAX_SEARCH_PAGE = 500


def as_json(lst: ContactList) -> dict[str, Any]:
    """A list as a PublicObjectList."""
    return {"listId": lst.id, "listVersion": lst.version, "name": lst.name,
            "objectTypeId": CONTACTS_TYPE, "processingStatus": "COMPLETE",
            "processingType": lst.processing_type, "createdAt": lst.created_at,
            "updatedAt": lst.updated_at, "size": len(lst.members)}


def create(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/lists: a list of contacts; names are unique."""
    if body["objectTypeId"] != CONTACTS_TYPE:
        raise bad_request(f"Object type {body['objectTypeId']} is not supported by this fake")
    if body["processingType"] not in (*STATIC, "DYNAMIC"):
        raise bad_request(f"Unknown processingType {body['processingType']!r}")
    name = body["name"]
    if not name.strip():
        raise bad_request("A list name cannot be blank")
    with state.lock:
        if state.list_by_name(name) is not None:
            raise bad_request(f"A list named '{name}' already exists.",
                              "ILS.DUPLICATE_LIST_NAMES")
        lst = ContactList(id=state.new_id(), name=name, processing_type=body["processingType"])
        state.lists[lst.id] = lst
        return 200, {"list": as_json(lst)}


def by_name(state: HubSpotState, object_type: str, name: str) -> Answer:
    """GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}."""
    with state.lock:
        found = state.list_by_name(name) if object_type == CONTACTS_TYPE else None
        if found is None:
            raise not_found(f"List does not exist with name {name} and object type "
                            f"{object_type}.")
        return 200, {"list": as_json(found)}


def by_id(state: HubSpotState, list_id: str) -> Answer:
    """GET /crm/v3/lists/{listId}."""
    with state.lock:
        return 200, {"list": as_json(_list(state, list_id))}


def delete(state: HubSpotState, list_id: str) -> Answer:
    """DELETE /crm/v3/lists/{listId}: the list and its memberships."""
    with state.lock:
        _list(state, list_id)
        del state.lists[list_id]
    return 204, None


def search(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/lists/search: lists whose name contains `query`, in id order."""
    query = (body.get("query") or "").lower()
    kinds = body.get("processingTypes") or None
    offset, count = body["offset"], min(body.get("count", 20), MAX_SEARCH_PAGE)
    with state.lock:
        found = [lst for lst in sorted(state.lists.values(), key=lambda x: int(x.id))
                 if query in lst.name.lower() and (kinds is None or lst.processing_type in kinds)]
        chosen = [{**as_json(lst), "additionalProperties": {}}
                  for lst in found[offset:offset + count]]
    for item in chosen:
        del item["size"]     # not a field of a search result
    return 200, {"lists": chosen, "offset": offset + len(chosen),
                 "hasMore": offset + len(chosen) < len(found), "total": len(found)}


def add(state: HubSpotState, list_id: str, ids: Sequence[str]) -> Answer:
    """PUT /crm/v3/lists/{listId}/memberships/add: unknown records and members are ignored."""
    _check_ids(state, ids)
    with state.lock:
        lst = _static(state, list_id)
        added, missing = [], []
        for record in dict.fromkeys(ids):
            if record not in state.contacts:
                missing.append(record)
            elif record not in lst.members:
                lst.members[record] = now_iso()
                added.append(record)
        if added:
            lst.version += 1
            lst.updated_at = now_iso()
    return 200, {"recordsIdsAdded": added, "recordIdsRemoved": [], "recordIdsMissing": missing}


def remove(state: HubSpotState, list_id: str, ids: Sequence[str]) -> Answer:
    """PUT /crm/v3/lists/{listId}/memberships/remove: non-members are ignored."""
    _check_ids(state, ids)
    with state.lock:
        lst = _static(state, list_id)
        removed = [r for r in dict.fromkeys(ids) if lst.members.pop(r, None) is not None]
        missing = [r for r in dict.fromkeys(ids) if r not in state.contacts]
        if removed:
            lst.version += 1
            lst.updated_at = now_iso()
    return 200, {"recordsIdsAdded": [], "recordIdsRemoved": removed,
                 "recordIdsMissing": missing}


def members(state: HubSpotState, list_id: str, params: Mapping[str, str]) -> Answer:
    """GET /crm/v3/lists/{listId}/memberships: members in record-id order, after `after`."""
    try:
        limit = min(int(params.get("limit", "100")), MAX_MEMBER_PAGE)
        after = int(params.get("after", "0"))
    except ValueError as exc:
        raise bad_request(f"Invalid paging parameter: {exc}") from None
    with state.lock:
        lst = _list(state, list_id)
        ids = sorted(int(r) for r in lst.members if int(r) > after)
        chosen = ids[:limit]
        results = [{"recordId": str(r), "membershipTimestamp": lst.members[str(r)]}
                   for r in chosen]
        total = len(lst.members)
    body: dict[str, Any] = {"results": results, "total": total}
    if len(ids) > limit:
        body["paging"] = {"next": {"after": str(chosen[-1])}}
    return 200, body


def of_records(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/lists/records/memberships/batch/read: the lists each record is in."""
    started = now_iso()
    inputs = body["inputs"]
    check_size(state, inputs)
    results, missing = [], []
    with state.lock:
        for item in inputs:
            record = item["recordId"]
            if item["objectTypeId"] != CONTACTS_TYPE or record not in state.contacts:
                missing.append(record)
                continue
            results.append({"objectTypeId": CONTACTS_TYPE, "recordId": record,
                            "recordListMemberships": [
                                {"listId": lst.id, "listVersion": lst.version,
                                 "firstAddedTimestamp": lst.members[record],
                                 "lastAddedTimestamp": lst.members[record],
                                 "isPublicList": True}
                                for lst in state.lists.values() if record in lst.members]})
    errors = [item_error("Some records do not exist", "OBJECT_NOT_FOUND",
                         {"ids": missing})] if missing else []
    return batch(results, errors, started)


def _check_ids(state: HubSpotState, ids: Sequence[str]) -> None:
    if len(ids) > state.limits.membership_ids:
        raise bad_request(f"At most {state.limits.membership_ids} record ids per call")


def _list(state: HubSpotState, list_id: str) -> ContactList:
    found = state.lists.get(list_id)
    if found is None:
        raise not_found(f"List with id {list_id} does not exist.")
    return found


def _static(state: HubSpotState, list_id: str) -> ContactList:
    lst = _list(state, list_id)
    if lst.processing_type not in STATIC:
        raise Refusal(400, f"List {list_id} is {lst.processing_type}: memberships can be "
                      "changed on MANUAL and SNAPSHOT lists only", "VALIDATION_ERROR")
    return lst
