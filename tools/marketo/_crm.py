"""`MarketoCRM`: the `CRM` protocol on Marketo's REST API (leads and static lists).

    crm = MarketoCRM("https://123-ABC-456.mktorest.com", client_id, SecretStr(secret))
    crm.create_contacts([Record(key="ada@example.com", fields={"firstname": "Ada"})])

Contacts are leads keyed by e-mail; lists are static lists. Every call takes one request
from `limiter` (Marketo allows 100 calls in 20 seconds per instance: share one limiter
across workers, see `tools.ratelimit`), and is retried under `retry` (`_client` says what
each Marketo error does). Reading every contact runs bulk lead exports, one per 31 days
since the first lead (or `created_since`, see `_export`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import httpx
from pydantic import SecretStr, TypeAdapter

from tools.changes import FieldValues
from tools.marketo import _leads, _lists
from tools.marketo._client import MarketoClient
from tools.marketo._export import export_leads
from tools.marketo._fields import FIELD_MAP, LeadAttribute, Schema
from tools.marketo._lists import Folder
from tools.ratelimit import Limiter, LocalLimiter, RateLimit
from tools.records import FieldInfo, Record, WriteResult
from tools.retry import RetryPolicy

MARKETO_LIMIT = RateLimit(requests=100, per_seconds=20)
_ATTRIBUTES = TypeAdapter(list[LeadAttribute])


class MarketoCRM:
    """A CRM whose contacts are the leads of one Marketo instance, and lists its static lists.

    `base_url` is the REST endpoint without ``/rest`` (``https://<munchkin>.mktorest.com``);
    `identity_url` defaults to ``<base_url>/identity``. New lists go into `list_folder`.
    `field_map` maps mops field names to the instance's lead fields (default `FIELD_MAP`).
    """

    def __init__(self, base_url: str, client_id: str, client_secret: SecretStr, *,
                 identity_url: str | None = None, name: str = "marketo",
                 limiter: Limiter | None = None, retry: RetryPolicy | None = None,
                 list_folder: Folder | None = None, created_since: datetime | None = None,
                 field_map: Mapping[str, str] = FIELD_MAP,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.name = name
        self._client = MarketoClient(
            base_url, client_id, client_secret, identity_url=identity_url,
            limiter=limiter or LocalLimiter(MARKETO_LIMIT), retry=retry, transport=transport)
        self._folder = list_folder or Folder(id=1)
        self._since = created_since
        self._field_map = field_map
        self._schema: Schema | None = None
        self._lock = threading.Lock()

    def describe_fields(self) -> list[FieldInfo]:
        """The mops contact fields this instance has (from its lead describe)."""
        return list(self.schema().fields)

    def read_contacts(self, keys: Sequence[str]) -> dict[str, Record]:
        """The contacts among `keys` that exist, by key."""
        return _leads.read(self._client, self.schema(), keys) if keys else {}

    def create_contacts(self, records: Sequence[Record]) -> list[WriteResult]:
        """Create new contacts; an existing key or an unknown field is an item error."""
        return _leads.create(self._client, self.schema(), records) if records else []

    def update_contacts(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Set fields of existing contacts; ``None`` or ``""`` empties a field."""
        return _leads.update(self._client, self.schema(), updates) if updates else []

    def delete_contacts(self, keys: Sequence[str]) -> list[WriteResult]:
        """Delete contacts and their list memberships."""
        return _leads.delete(self._client, self.schema(), keys) if keys else []

    def iter_contacts(self) -> Iterator[Record]:
        """Every contact, in key order (read whole through bulk exports, then sorted)."""
        schema = self.schema()
        rows = export_leads(self._client, schema.names, self._since)
        records = [Record(key=schema.key_of(row), fields=schema.values(row)) for row in rows]
        yield from sorted(records, key=lambda record: record.key)

    def list_exists(self, list_name: str) -> bool:
        """Whether a static list of that name exists."""
        return _lists.find_list(self._client, list_name) is not None

    def create_list(self, list_name: str) -> WriteResult:
        """Create an empty static list in the list folder."""
        return _lists.create_list(self._client, list_name, self._folder)

    def delete_list(self, list_name: str) -> WriteResult:
        """Delete a static list (its memberships go with it)."""
        return _lists.delete_list(self._client, list_name)

    def list_members(self, list_name: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are members of the list (empty if the list does not exist)."""
        return _lists.members(self._client, self.schema(), list_name, keys)

    def count_members(self, list_name: str) -> int:
        """How many members the list has (0 if it does not exist)."""
        return _lists.count(self._client, list_name)

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Add contacts to a list; adding a member twice is not an error."""
        return _lists.add(self._client, self.schema(), list_name, keys)

    def remove_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Remove contacts from a list; removing a non-member is not an error."""
        return _lists.remove(self._client, self.schema(), list_name, keys)

    def iter_memberships(self) -> Iterator[tuple[str, str]]:
        """Every (list name, contact key) pair, ordered by list name, then key."""
        return _lists.memberships(self._client, self.schema())

    def close(self) -> None:
        """Release connections."""
        self._client.close()

    def schema(self) -> Schema:
        """The instance's lead fields, read once (``GET /rest/v1/leads/describe.json``)."""
        with self._lock:
            if self._schema is None:
                answer = self._client.call("GET", "/rest/v1/leads/describe.json")
                attributes = _ATTRIBUTES.validate_python(answer.result)
                self._schema = Schema(attributes, self._field_map)
            return self._schema
