"""The contacts endpoints of the fake: batch read, create, upsert, update and archive, and
paging.

Each function takes the parsed (and spec-checked) body, changes the state under its lock,
and returns the HTTP status and body HubSpot would answer.

Batch create is all or nothing, as HubSpot's is in practice: an input whose e-mail a contact
already has makes the whole call 409 CONFLICT ("Contact already exists. Existing ID: N"), and
an invalid input makes it 400 VALIDATION_ERROR; either way nothing is created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tools.fakes.hubspot._answers import Refusal, bad_request, batch, item_error
from tools.fakes.hubspot._state import Contact, HubSpotState, now_iso

Answer = tuple[int, Any]
# What HubSpot refuses as an e-mail address, roughly: one @, no spaces, a dot in the domain.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DEFAULT_READ = ("email", "firstname", "lastname")
MAX_PAGE = 100


def check_size(state: HubSpotState, inputs: Sequence[Any]) -> None:
    """Refuse a batch with more inputs than HubSpot takes."""
    cap = state.limits.batch_inputs
    if len(inputs) > cap:
        raise bad_request(f"Batch input limit exceeded: {len(inputs)} inputs, the limit is "
                          f"{cap}", "BATCH_LIMIT_EXCEEDED")


def as_object(state: HubSpotState, contact: Contact, names: Sequence[str] | None,
              ) -> dict[str, Any]:
    """A contact as a SimplePublicObject: the asked properties (null when empty)."""
    wanted = names if names is not None else DEFAULT_READ
    values: dict[str, Any] = {name: contact.properties.get(name) for name in wanted
                              if name in state.properties}
    values.update(hs_object_id=contact.id, createdate=contact.created_at,
                  lastmodifieddate=contact.updated_at)
    return {"id": contact.id, "properties": values, "createdAt": contact.created_at,
            "updatedAt": contact.updated_at, "archived": False}


def read(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/objects/contacts/batch/read: by id, or by e-mail with idProperty."""
    started = now_iso()
    inputs = body["inputs"]
    check_size(state, inputs)
    id_property = _id_property(body.get("idProperty"))
    with state.lock:
        results: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        for item in inputs:
            found = state.contact(item["id"], id_property)
            if found is None:
                missing.append(item["id"])
            else:
                results[found.id] = as_object(state, found, body.get("properties"))
    errors = [item_error("Could not get some CONTACT objects, they may be deleted or not "
                         "exist. Check that ids are valid.", "OBJECT_NOT_FOUND",
                         {"ids": missing})] if missing else []
    return batch(list(results.values()), errors, started)


def create(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/objects/contacts/batch/create: 201, or 409/400 for the whole batch."""
    started = now_iso()
    inputs = body["inputs"]
    check_size(state, inputs)
    emails = [str(item["properties"].get("email") or "") for item in inputs]
    _no_duplicates(emails)
    with state.lock:
        for email, item in zip(emails, inputs, strict=True):
            problem = _create_problem(state, email, item)
            if problem is not None:
                raise problem
        for email, _ in zip(emails, inputs, strict=True):
            found = state.contact(email, "email")
            if found is not None:
                raise Refusal(409, f"Contact already exists. Existing ID: {found.id}",
                              "CONFLICT")
        results = []
        for email, item in zip(emails, inputs, strict=True):
            contact, _ = _upsert_one(state, email, item["properties"])
            results.append(_traced(as_object(state, contact, list(item["properties"])), item))
    _, answer = batch(results, [], started)
    return 201, answer


def upsert(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/objects/contacts/batch/upsert, by e-mail (idProperty: email)."""
    started = now_iso()
    inputs = body["inputs"]
    check_size(state, inputs)
    _no_duplicates([item["id"] for item in inputs])
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with state.lock:
        for item in inputs:
            problem = _upsert_problem(state, item)
            if problem is not None:
                errors.append(problem)
                continue
            contact, new = _upsert_one(state, item["id"], item["properties"])
            result = {**as_object(state, contact, [*item["properties"], "email"]), "new": new}
            results.append(_traced(result, item))
    return batch(results, errors, started)


def update(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/objects/contacts/batch/update: by id, or by e-mail with idProperty."""
    started = now_iso()
    inputs = body["inputs"]
    check_size(state, inputs)
    _no_duplicates([item["id"] for item in inputs])
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    missing: list[str] = []
    with state.lock:
        for item in inputs:
            found = state.contact(item["id"], _id_property(item.get("idProperty")))
            problem = _property_problem(state, item["id"], item["properties"], item)
            if found is None:
                missing.append(item["id"])
            elif problem is not None:
                errors.append(problem)
            else:
                _write(state, found, item["properties"])
                results.append(_traced(as_object(state, found, list(item["properties"])), item))
    if missing:
        errors.append(item_error("Could not get some CONTACT objects, they may be deleted or "
                                 "not exist.", "OBJECT_NOT_FOUND", {"ids": missing}))
    return batch(results, errors, started)


def archive(state: HubSpotState, body: Mapping[str, Any]) -> Answer:
    """POST /crm/v3/objects/contacts/batch/archive: by id; unknown ids are ignored."""
    inputs = body["inputs"]
    check_size(state, inputs)
    with state.lock:
        for item in inputs:
            contact = state.contacts.pop(item["id"], None)
            if contact is None:
                continue
            state.by_email.pop(contact.properties.get("email", ""), None)
            for lst in state.lists.values():
                lst.members.pop(contact.id, None)
    return 204, None


def page(state: HubSpotState, params: Mapping[str, str]) -> Answer:
    """GET /crm/v3/objects/contacts: contacts in id order, `limit` at a time after `after`."""
    try:
        limit = min(int(params.get("limit", "10")), MAX_PAGE)
        after = int(params.get("after", "0"))
    except ValueError as exc:
        raise bad_request(f"Invalid paging parameter: {exc}") from None
    names = params["properties"].split(",") if params.get("properties") else None
    with state.lock:
        ids = sorted(int(i) for i in state.contacts if int(i) > after)
        chosen = ids[:limit]
        results = [as_object(state, state.contacts[str(i)], names) for i in chosen]
    body: dict[str, Any] = {"results": results}
    if len(ids) > limit:
        body["paging"] = {"next": {"after": str(chosen[-1])}}
    return 200, body


def _traced(result: dict[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """`result` with the input's `objectWriteTraceId` echoed back, as HubSpot does."""
    if "objectWriteTraceId" in item:
        result["objectWriteTraceId"] = item["objectWriteTraceId"]
    return result


def _id_property(name: object) -> str | None:
    if name in (None, "hs_object_id"):
        return None
    if name != "email":
        raise bad_request(f"Property {name!r} is not a unique property of contacts")
    return "email"


def _no_duplicates(ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for ref in ids:
        if ref in seen:
            raise bad_request(f"Duplicate IDs found in batch input: [{ref}]. IDs must be unique")
        seen.add(ref)


def _upsert_problem(state: HubSpotState, item: Mapping[str, Any]) -> dict[str, Any] | None:
    email = item["id"]
    if item.get("idProperty") != "email":
        return item_error("Upsert needs idProperty: only email is a unique property here",
                          "VALIDATION_ERROR", {"ids": [email]})
    if not EMAIL.fullmatch(email):
        return item_error(f"Property values were not valid: email {email!r} is not a valid "
                          "email address", "VALIDATION_ERROR", {"ids": [email]},
                          "INVALID_EMAIL")
    given = item["properties"].get("email")
    if given is not None and given != email:
        return item_error("The email property does not match the id of the upsert",
                          "VALIDATION_ERROR", {"ids": [email]})
    return _property_problem(state, email, item["properties"], item)


def _create_problem(state: HubSpotState, email: str, item: Mapping[str, Any],
                    ) -> Refusal | None:
    if not EMAIL.fullmatch(email):
        return bad_request(f"Property values were not valid: email {email!r} is not a valid "
                           "email address", "INVALID_EMAIL")
    problem = _property_problem(state, email, item["properties"], item)
    if problem is not None:
        return bad_request(problem["message"], problem.get("subCategory"))
    return None


def _property_problem(state: HubSpotState, ref: str, values: Mapping[str, str],
                      item: Mapping[str, Any]) -> dict[str, Any] | None:
    context = {"ids": [ref]}
    if "objectWriteTraceId" in item:
        context["objectWriteTraceId"] = [item["objectWriteTraceId"]]
    for name in values:
        known = state.properties.get(name)
        if known is None:
            return item_error(f'Property "{name}" does not exist', "VALIDATION_ERROR",
                              {**context, "propertyName": [name]}, "PROPERTY_DOESNT_EXIST")
        if known.read_only:
            return item_error(f'Property "{name}" is read-only', "VALIDATION_ERROR",
                              {**context, "propertyName": [name]}, "READ_ONLY_VALUE")
    return None


def _upsert_one(state: HubSpotState, email: str, values: Mapping[str, str],
                ) -> tuple[Contact, bool]:
    found = state.contact(email, "email")
    if found is not None:
        _write(state, found, values)
        return found, False
    contact = Contact(id=state.new_id(), properties={"email": email})
    state.contacts[contact.id] = contact
    state.by_email[email] = contact.id
    _write(state, contact, values)
    return contact, True


def _write(state: HubSpotState, contact: Contact, values: Mapping[str, str]) -> None:
    for name, value in values.items():
        if name == "email" and value != contact.properties.get("email"):
            state.by_email.pop(contact.properties.get("email", ""), None)
            state.by_email[value] = contact.id
        if value == "":
            contact.properties.pop(name, None)   # an empty string clears a property
        else:
            contact.properties[name] = value
    contact.updated_at = now_iso()

