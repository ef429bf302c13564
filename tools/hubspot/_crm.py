"""`HubSpotCRM`: the `CRM` protocol on HubSpot's CRM v3 API, with a private app token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx
from pydantic import SecretStr

from tools.changes import FieldValues
from tools.hubspot import _contacts, _fields, _lists
from tools.hubspot._client import Client
from tools.ratelimit import Limiter
from tools.records import FieldInfo, Record, WriteResult
from tools.retry import RetryPolicy

DEFAULT_URL = "https://api.hubapi.com"


class HubSpotCRM:
    """Contacts (keyed by e-mail) and static lists of one HubSpot portal.

    `limiter` keeps every worker under the portal's limits (HubSpot counts per portal:
    ``RateLimit(190, 10)`` on Professional, ``RateLimit(100, 10)`` on Free and Starter);
    `retry` says how 429s, 5xx and dropped connections are retried. The token is sent as a
    bearer header and appears nowhere else: not in errors, logs or this object's repr.
    """

    def __init__(self, base_url: str = DEFAULT_URL, *, token: SecretStr | str,
                 name: str = "hubspot", limiter: Limiter | None = None,
                 retry: RetryPolicy | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.name = name
        self.base_url = base_url
        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        self._client = Client(base_url, secret, limiter=limiter, retry=retry,
                              timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"HubSpotCRM({self.base_url!r}, name={self.name!r})"

    def describe_fields(self) -> list[FieldInfo]:
        """The mops contact fields whose HubSpot property the portal has."""
        _, answer = self._client.call("GET", "/crm/v3/properties/contacts")
        return _fields.describe(answer.get("results") or [])

    def read_contacts(self, keys: Sequence[str]) -> dict[str, Record]:
        """The contacts among `keys` that exist, by key."""
        return {key: found.record for key, found in _contacts.fetch(self._client, keys).items()}

    def create_contacts(self, records: Sequence[Record]) -> list[WriteResult]:
        """Create new contacts; an existing key or an unmapped field is an item error."""
        return _contacts.create(self._client, records) if records else []

    def update_contacts(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Set fields of existing contacts; ``None`` or ``""`` empties a field."""
        return _contacts.update(self._client, updates) if updates else []

    def delete_contacts(self, keys: Sequence[str]) -> list[WriteResult]:
        """Delete (archive) contacts; they leave their lists."""
        return _contacts.delete(self._client, keys) if keys else []

    def iter_contacts(self) -> Iterator[Record]:
        """Every contact, in key order.

        HubSpot pages contacts by record id, so this reads them all before the first one is
        yielded: memory grows with the portal (about half a kilobyte a contact).
        """
        records = [found.record for found in _contacts.every(self._client)]
        yield from sorted(records, key=lambda record: record.key)

    def list_exists(self, list_name: str) -> bool:
        """Whether a static list of that name exists."""
        return _lists.find(self._client, list_name) is not None

    def create_list(self, list_name: str) -> WriteResult:
        """Create an empty static (MANUAL) list."""
        return _lists.create(self._client, list_name)

    def delete_list(self, list_name: str) -> WriteResult:
        """Delete a static list and its memberships."""
        return _lists.delete(self._client, list_name)

    def list_members(self, list_name: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are members of the list (empty if it does not exist)."""
        return _lists.members(self._client, list_name, keys)

    def count_members(self, list_name: str) -> int:
        """How many members the list has (0 if it does not exist)."""
        return _lists.count(self._client, list_name)

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Add contacts to a list; adding a member twice is not an error."""
        return _lists.add(self._client, list_name, keys) if keys else []

    def remove_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Remove contacts from a list; removing a non-member is not an error."""
        return _lists.remove(self._client, list_name, keys) if keys else []

    def iter_memberships(self) -> Iterator[tuple[str, str]]:
        """Every (list name, contact key) pair, ordered by list name, then key."""
        return _lists.every(self._client)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
