"""`SalesforceCRM`: the `CRM` protocol on a Salesforce org's REST API.

    crm = SalesforceCRM("https://acme.my.salesforce.com", SecretStr(access_token))

Contacts are Salesforce Contacts keyed by e-mail (see `_contacts`); lists are Campaigns and
membership is CampaignMember (see `_lists`); field names map as `CONTACT_FIELDS` says. Writes
use sObject Collections, 200 records a request, ``allOrNone: false``, so one record's failure
is that item's error and never hides the others' success.

The access token is used as it is (an OAuth flow outside mops obtains and refreshes it): an
expired one raises `AuthFailed`, whose message, like every other, never holds the token.

Key order. `iter_contacts` and `iter_memberships` use SOQL ``ORDER BY``. The shipped fake
sorts by code point, which is mops's key order; a real org sorts text by the user's locale,
which agrees for plain lower-case e-mails but may differ where punctuation decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pydantic import SecretStr

from tools.changes import FieldValues
from tools.fields import CONTACT_FIELDS as MOPS_FIELDS
from tools.ratelimit import Limiter
from tools.records import FieldInfo, Record, WriteResult
from tools.retry import RetryPolicy
from tools.salesforce import _contacts, _lists
from tools.salesforce._api import SalesforceApi
from tools.salesforce._fields import CONTACT_FIELDS, KEY_FIELD

_VERSION = re.compile(r"v\d{2}\.\d")


class SalesforceCRM:
    """A CRM on the Salesforce org at `instance_url`, authorised by an OAuth access token."""

    def __init__(self, instance_url: str, token: SecretStr, *, api_version: str = "v62.0",
                 name: str = "salesforce", limiter: Limiter | None = None,
                 retry: RetryPolicy | None = None) -> None:
        if not _VERSION.fullmatch(api_version):
            raise ValueError(f"api_version looks like 'v62.0', not {api_version!r}")
        self.name = name
        self._api = SalesforceApi(instance_url, token, api_version=api_version,
                                  limiter=limiter, retry=retry)

    def describe_fields(self) -> list[FieldInfo]:
        """The mops contact fields whose Salesforce field exists on Contact in this org."""
        fields = {f["name"]: f for f in self._api.describe("Contact")}
        out = [FieldInfo(name="email", label="Email", writable=False)] if KEY_FIELD in fields \
            else []
        for info in MOPS_FIELDS:
            found = fields.get(CONTACT_FIELDS.get(info.name, ""))
            if found is not None:
                writable = bool(found.get("createable")) and bool(found.get("updateable"))
                out.append(FieldInfo(name=info.name, label=info.label, writable=writable))
        return out

    def read_contacts(self, keys: Sequence[str]) -> dict[str, Record]:
        """The contacts among `keys` that exist, by key."""
        return _contacts.read(self._api, keys) if keys else {}

    def create_contacts(self, records: Sequence[Record]) -> list[WriteResult]:
        """Create new contacts; an existing e-mail or an unknown field is an item error."""
        return _contacts.create(self._api, records) if records else []

    def update_contacts(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Set fields of existing contacts (``None`` or ``""`` empties a field)."""
        return _contacts.update(self._api, updates) if updates else []

    def delete_contacts(self, keys: Sequence[str]) -> list[WriteResult]:
        """Delete contacts and their campaign memberships."""
        return _contacts.delete(self._api, keys) if keys else []

    def iter_contacts(self) -> Iterator[Record]:
        """Every Contact with an e-mail, ordered by e-mail (see "Key order" above)."""
        return _contacts.stream(self._api)

    def list_exists(self, list_name: str) -> bool:
        """Whether a Campaign of that name exists."""
        return _lists.campaign_id(self._api, list_name) is not None

    def create_list(self, list_name: str) -> WriteResult:
        """Create an empty Campaign; an existing name is an error."""
        return _lists.create(self._api, list_name)

    def delete_list(self, list_name: str) -> WriteResult:
        """Delete a Campaign and its members; a missing one is an error."""
        return _lists.drop(self._api, list_name)

    def list_members(self, list_name: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are members of the Campaign (empty if it does not exist)."""
        return _lists.members(self._api, list_name, keys)

    def count_members(self, list_name: str) -> int:
        """How many Contacts the Campaign has (0 if it does not exist)."""
        return _lists.count(self._api, list_name)

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Add contacts to a Campaign; adding a member twice is fine."""
        return _lists.add(self._api, list_name, keys) if keys else []

    def remove_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Remove contacts from a Campaign; removing a non-member is fine."""
        return _lists.remove(self._api, list_name, keys) if keys else []

    def iter_memberships(self) -> Iterator[tuple[str, str]]:
        """Every (Campaign name, contact e-mail) pair, ordered by name, then e-mail."""
        return _lists.memberships(self._api)

    def close(self) -> None:
        """Close the connection pool."""
        self._api.close()
