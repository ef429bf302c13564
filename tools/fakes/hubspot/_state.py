"""What the fake HubSpot holds: contacts, static lists, properties, tokens and limits.

The state is plain Python behind one lock, so a test can set it up and look at it directly
while the server runs in its thread (`FakeServer`). Ids are decimal strings, as HubSpot's
are, handed out in ascending order.

Known differences from HubSpot: e-mail addresses are kept as given and matched exactly
(HubSpot lower-cases them); writes are visible at once (HubSpot's search index lags, its
batch endpoints do not).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tools.fakes.openapi import Violation

CONTACTS_TYPE = "0-1"   # HubSpot's objectTypeId of contacts


def now_iso() -> str:
    """The current time as HubSpot writes it (ISO 8601, milliseconds, Z)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Limits:
    """HubSpot's limits, scaled as a test wishes. Defaults: a Professional private app."""

    per_window: int = 190            # requests per rolling window ...
    window_seconds: float = 10.0     # ... of this length (TEN_SECONDLY_ROLLING)
    daily: int = 650_000             # requests per day (DAILY) ...
    day_seconds: float = 86_400.0    # ... which resets after this long
    batch_inputs: int = 100          # inputs per batch call
    membership_ids: int = 100_000    # record ids per list-membership call (an assumption)


@dataclass
class PropertyDef:
    """A contact property: its name, label, type, and whether values can be written."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"
    group: str = "contactinformation"
    read_only: bool = False
    hubspot_defined: bool = True

    def as_json(self) -> dict[str, Any]:
        """The property in the shape of the Properties API."""
        return {
            "name": self.name, "label": self.label, "type": self.type,
            "fieldType": self.field_type, "groupName": self.group, "description": "",
            "options": [], "displayOrder": -1, "hidden": False, "formField": True,
            "calculated": False, "externalOptions": False, "hasUniqueValue": self.name == "email",
            "hubspotDefined": self.hubspot_defined, "archived": False,
            "modificationMetadata": {"archivable": not self.hubspot_defined,
                                     "readOnlyDefinition": self.hubspot_defined,
                                     "readOnlyValue": self.read_only},
        }


def _standard(name: str, label: str) -> PropertyDef:
    return PropertyDef(name, label)


def _custom(name: str, label: str) -> PropertyDef:
    return PropertyDef(name, label, group="mops", hubspot_defined=False)


DEFAULT_PROPERTIES: tuple[PropertyDef, ...] = (
    _standard("email", "Email"),
    _standard("firstname", "First Name"),
    _standard("lastname", "Last Name"),
    _standard("company", "Company Name"),
    _standard("jobtitle", "Job Title"),
    _standard("phone", "Phone Number"),
    _standard("country", "Country/Region"),
    _standard("city", "City"),
    _standard("website", "Website URL"),
    PropertyDef("hs_object_id", "Record ID", type="number", field_type="number",
                read_only=True),
    PropertyDef("createdate", "Create Date", type="datetime", field_type="date",
                read_only=True),
    PropertyDef("lastmodifieddate", "Last Modified Date", type="datetime", field_type="date",
                read_only=True),
    # Custom properties a portal set up for mops (HubSpot has no writable lead source or
    # UTM fields of its own on contacts).
    _custom("lead_source", "Lead source"),
    _custom("utm_source", "UTM source"),
    _custom("utm_medium", "UTM medium"),
    _custom("utm_campaign", "UTM campaign"),
    _custom("utm_term", "UTM term"),
    _custom("utm_content", "UTM content"),
)


@dataclass
class Contact:
    """A contact: its id, the non-empty values of its properties, and its timestamps."""

    id: str
    properties: dict[str, str]
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class ContactList:
    """A list of contacts; MANUAL and SNAPSHOT lists take members by API."""

    id: str
    name: str
    processing_type: str
    members: dict[str, str] = field(default_factory=dict)   # record id -> when added
    version: int = 1
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


class HubSpotState:
    """Everything the fake HubSpot knows, behind `lock`.

    `tokens`: the private-app tokens accepted (None: any non-empty bearer token, for dry
    runs). `expire(token)` makes one answer 401 EXPIRED_AUTHENTICATION from then on.
    """

    def __init__(self, tokens: Iterable[str] | None = None, *, limits: Limits | None = None,
                 properties: Iterable[PropertyDef] = DEFAULT_PROPERTIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.tokens = set(tokens) if tokens is not None else None
        self.expired: set[str] = set()
        self.limits = limits or Limits()
        self.properties = {p.name: p for p in properties}
        self.contacts: dict[str, Contact] = {}
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, ContactList] = {}
        self.violations: list[Violation] = []     # requests that broke the spec
        self.refusals: Counter[str] = Counter()   # 401, DAILY, TEN_SECONDLY_ROLLING, 400...
        self.requests = 0                          # requests admitted past auth and limits
        self._clock = clock
        self._window: deque[float] = deque()
        self._day_start = clock()
        self._day_used = 0
        self._ids = itertools.count(101)

    # --- tokens and limits ---------------------------------------------------------------

    def expire(self, token: str) -> None:
        """Make `token` expired: every request with it answers 401."""
        with self.lock:
            self.expired.add(token)

    def auth_problem(self, token: str | None) -> str | None:
        """Why a request with this bearer token is refused: a HubSpot category, or None."""
        if not token:
            return "INVALID_AUTHENTICATION"
        if token in self.expired:
            return "EXPIRED_AUTHENTICATION"
        if self.tokens is not None and token not in self.tokens:
            return "INVALID_AUTHENTICATION"
        return None

    def admit(self) -> str | None:
        """Count a request against the limits; the policy refusing it, or None if admitted."""
        with self.lock:
            now = self._clock()
            if now - self._day_start >= self.limits.day_seconds:
                self._day_start, self._day_used = now, 0
            if self._day_used >= self.limits.daily:
                return "DAILY"
            while self._window and now - self._window[0] >= self.limits.window_seconds:
                self._window.popleft()
            if len(self._window) >= self.limits.per_window:
                return "TEN_SECONDLY_ROLLING"
            self._window.append(now)
            self._day_used += 1
            self.requests += 1
            return None

    def remaining(self) -> tuple[int, int]:
        """Requests left in the current window and in the day."""
        with self.lock:
            return (max(0, self.limits.per_window - len(self._window)),
                    max(0, self.limits.daily - self._day_used))

    def use_up_the_day(self) -> None:
        """Spend the rest of today's quota (for tests of the DAILY limit)."""
        with self.lock:
            self._day_used = self.limits.daily

    # --- records -------------------------------------------------------------------------

    def new_id(self) -> str:
        """The next record or list id."""
        return str(next(self._ids))

    def contact(self, ref: str, id_property: str | None) -> Contact | None:
        """The live contact `ref` names: by e-mail when `id_property` is email, else by id."""
        if id_property == "email":
            found = self.by_email.get(ref)
            return self.contacts.get(found) if found else None
        return self.contacts.get(ref)

    def list_by_name(self, name: str) -> ContactList | None:
        """The list called `name`, if there is one."""
        return next((lst for lst in self.lists.values() if lst.name == name), None)

    # --- views for tests -----------------------------------------------------------------

    def emails(self) -> list[str]:
        """The e-mail of every live contact, one per contact (duplicates would show twice)."""
        with self.lock:
            return [c.properties.get("email", "") for c in self.contacts.values()]

    def members(self, list_name: str) -> set[str]:
        """The e-mails of the members of a list."""
        with self.lock:
            found = self.list_by_name(list_name)
            if found is None:
                return set()
            return {self.contacts[i].properties.get("email", "") for i in found.members}
