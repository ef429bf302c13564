"""Static lists as Campaigns, and membership as CampaignMembers of Contacts.

A list is the Campaign whose Name is exactly the list's name (SOQL compares text without
case; the exact match is made here). Creating one upserts on ``Mops_Key__c`` = a hash of the
name, so that a create retried after a lost answer finds the Campaign it made. Adding a
member twice is not an error: Salesforce's DUPLICATE_VALUE ("Already a campaign member") is
taken as done; so is ENTITY_IS_DELETED when removing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from tools.records import WriteResult
from tools.results import MISSING, results
from tools.salesforce import _contacts
from tools.salesforce._api import SalesforceApi
from tools.salesforce._contacts import GONE
from tools.salesforce._fields import EXTERNAL_ID, external_key
from tools.salesforce._soql import in_lists, literal

NO_LIST = "no such list"
EXISTS = "list already exists"
ALREADY_MEMBER = "DUPLICATE_VALUE"


def list_key(name: str) -> str:
    """The Campaign's ``Mops_Key__c``: lower-case hex, so the field's case setting is moot."""
    return "mops-list:" + hashlib.sha256(name.encode()).hexdigest()


def campaign_id(api: SalesforceApi, name: str) -> str | None:
    """The id of the Campaign named exactly `name` (the oldest, should there be several)."""
    rows = api.query(f"SELECT Id, Name FROM Campaign WHERE Name = {literal(name)}")
    ids = sorted(str(row["Id"]) for row in rows if row.get("Name") == name)
    return ids[0] if ids else None


def create(api: SalesforceApi, name: str) -> WriteResult:
    """Create an empty, active Campaign; an existing name is an error."""
    if not name:
        return WriteResult(key=name, ok=False, error="empty list name")
    if campaign_id(api, name) is not None:
        return WriteResult(key=name, ok=False, error=EXISTS)
    record = {"attributes": {"type": "Campaign"}, EXTERNAL_ID: list_key(name), "Name": name,
              "IsActive": True}
    [result] = api.upsert("Campaign", EXTERNAL_ID, [record])
    return WriteResult(key=name, ok=result.success,
                       error=None if result.success else result.error())


def drop(api: SalesforceApi, name: str) -> WriteResult:
    """Delete the Campaign (its members go with it); a missing list is an error."""
    found = campaign_id(api, name)
    if found is None:
        return WriteResult(key=name, ok=False, error=NO_LIST)
    [result] = api.delete([found])
    ok = result.success or result.failed_with(GONE)
    return WriteResult(key=name, ok=ok, error=None if ok else result.error())


def members(api: SalesforceApi, name: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are members of the list."""
    found = campaign_id(api, name) if keys else None
    if found is None:
        return set()
    emails = {_email(row) for row in _member_rows(api, found, keys)}
    return {key for key in keys if external_key(key) in emails}


def count(api: SalesforceApi, name: str) -> int:
    """How many Contacts are members of the list."""
    found = campaign_id(api, name)
    if found is None:
        return 0
    return api.count(f"SELECT COUNT() FROM CampaignMember WHERE CampaignId = {literal(found)}"
                     " AND ContactId != null")


def add(api: SalesforceApi, name: str, keys: Sequence[str]) -> list[WriteResult]:
    """Add contacts to the list; an unknown contact is an item error."""
    found = campaign_id(api, name)
    if found is None:
        return results(keys, dict.fromkeys(range(len(keys)), NO_LIST))
    contacts = _contacts.find(api, keys)
    lows = list(contacts)
    payload = [{"attributes": {"type": "CampaignMember"}, "CampaignId": found,
                "ContactId": contacts[low]["Id"]} for low in lows]
    failed = {low: r.error() for low, r in zip(lows, api.create(payload), strict=True)
              if not r.success and not r.failed_with(ALREADY_MEMBER)}
    errors: dict[int, str] = {}
    for index, key in enumerate(keys):
        low = external_key(key)
        if low not in contacts or low in failed:
            errors[index] = failed.get(low, MISSING)
    return results(keys, errors)


def remove(api: SalesforceApi, name: str, keys: Sequence[str]) -> list[WriteResult]:
    """Take contacts out of the list; a non-member (or an unknown contact) is fine."""
    found = campaign_id(api, name)
    if found is None:
        return results(keys, dict.fromkeys(range(len(keys)), NO_LIST))
    rows = _member_rows(api, found, keys)
    ids = [str(row["Id"]) for row in rows]
    failed = {_email(row): r.error() for row, r in zip(rows, api.delete(ids), strict=True)
              if not r.success and not r.failed_with(GONE)}
    errors = {i: failed[external_key(k)] for i, k in enumerate(keys) if external_key(k) in failed}
    return results(keys, errors)


def memberships(api: SalesforceApi) -> Iterator[tuple[str, str]]:
    """Every (Campaign name, member e-mail), ordered by name, then e-mail."""
    campaigns = list(api.query("SELECT Id, Name FROM Campaign ORDER BY Name"))
    for campaign in campaigns:
        soql = ("SELECT Contact.Email FROM CampaignMember WHERE CampaignId = "
                f"{literal(str(campaign['Id']))} AND ContactId != null ORDER BY Contact.Email")
        for row in api.query(soql):
            email = (row.get("Contact") or {}).get("Email")
            if email:
                yield str(campaign["Name"]), str(email)


def _member_rows(api: SalesforceApi, campaign: str,
                 keys: Sequence[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for _, clause in in_lists(external_key(key) for key in keys if key):
        rows.extend(api.query(
            f"SELECT Id, Contact.Email FROM CampaignMember WHERE CampaignId = "
            f"{literal(campaign)} AND Contact.Email IN {clause}"))
    return rows


def _email(row: dict[str, object]) -> str:
    contact = row.get("Contact")
    email = contact.get("Email") if isinstance(contact, dict) else None
    return external_key(str(email or ""))
