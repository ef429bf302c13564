"""What the fake Marketo instance holds: leads, static lists, tokens, exports, and counters.

Every method takes the state's lock: the app serves requests on uvicorn's thread while a
test reads or changes the state from its own. Results are Marketo's per-record shapes.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tools.fakes.marketo._fields import WRITABLE
from tools.fakes.openapi import RequestChecker

Lead = dict[str, Any]
Result = dict[str, Any]


class Refused(Exception):
    """A call-level error: Marketo answers ``success: false`` with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Limits:
    """Marketo's limits (the defaults are the real ones); tests scale them down."""

    calls: int = 100              # calls in any `per_seconds` (606 beyond)
    per_seconds: float = 20.0
    daily_quota: int = 50_000     # calls a day (607 beyond)
    concurrent: int = 10          # calls in flight at once (615 beyond)
    batch: int = 300              # records a lead or list call takes
    token_seconds: int = 3600     # lifetime of an access token
    latency: float = 0.0          # seconds each admitted call takes
    max_uri: int = 8192           # bytes of path and query (HTTP 414 beyond)


@dataclass
class StaticList:
    """A static list asset."""

    id: int
    name: str
    folder: dict[str, Any]
    description: str
    created: str

    def asset(self) -> dict[str, Any]:
        """As the Asset API shows it."""
        return {"id": self.id, "name": self.name, "description": self.description,
                "createdAt": self.created, "updatedAt": self.created, "folder": self.folder,
                "computedUrl": f"https://app.fake.marketo.com/#ST{self.id}A1"}


@dataclass
class Export:
    """A bulk lead export job."""

    id: str
    fields: list[str]
    start: datetime
    end: datetime
    created: str
    status: str = "Created"
    file: str = ""
    records: int = 0

    def shown(self) -> dict[str, Any]:
        """As the export endpoints show it (``ExportResponse``)."""
        out: dict[str, Any] = {"exportId": self.id, "status": self.status, "format": "CSV",
                               "createdAt": self.created}
        if self.status == "Completed":
            out |= {"numberOfRecords": self.records,
                    "fileSize": len(self.file.encode()), "finishedAt": _now()}
        return out


@dataclass
class MarketoState:
    """One fake Marketo instance. `client_id` / `client_secret` are the API user's."""

    client_id: str = "mops-fake"
    client_secret: str = "mops-fake-secret"
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    checker: RequestChecker = field(default_factory=lambda: RequestChecker(None))
    leads: dict[int, Lead] = field(default_factory=dict)
    lists: dict[int, StaticList] = field(default_factory=dict)
    members: dict[int, set[int]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)        # token -> expiry
    exports: dict[str, Export] = field(default_factory=dict)
    quota_used: int = 0
    in_flight: int = 0
    largest_batch: int = 0
    refused: Counter[str] = field(default_factory=Counter)        # code -> calls refused
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _by_email: dict[str, int] = field(default_factory=dict, repr=False)
    _window: deque[float] = field(default_factory=deque, repr=False)
    _created: dict[int, datetime] = field(default_factory=dict, repr=False)
    _lead_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _list_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001), repr=False)

    # --- access: tokens and limits --------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int] | None:
        """A token and its seconds left (a live one is handed out again, as Marketo does);
        None for wrong credentials."""
        if not (secrets.compare_digest(client_id, self.client_id)
                and secrets.compare_digest(client_secret, self.client_secret)):
            return None
        with self.lock:
            now = self.clock()
            live = [(expiry, token) for token, expiry in self.tokens.items() if expiry > now]
            if live:
                expiry, token = max(live)
                return token, max(0, math.floor(expiry - now))
            token = f"{secrets.token_hex(16)}:fk"
            self.tokens[token] = now + self.limits.token_seconds
            return token, self.limits.token_seconds

    def expire_tokens(self) -> None:
        """Let every token run out now (the next call with one gets 602)."""
        with self.lock:
            now = self.clock()
            self.tokens = {token: min(expiry, now) for token, expiry in self.tokens.items()}

    def admit(self, authorization: str | None) -> str | None:
        """Count one call in, or say which error code refuses it."""
        with self.lock:
            code = self._token_error(authorization) or self._limit_error()
            if code:
                self.refused[code] += 1
                return code
            self.in_flight += 1
            self.quota_used += 1
            self._window.append(self.clock())
            return None

    def leave(self) -> None:
        """A call admitted by `admit` has been answered."""
        with self.lock:
            self.in_flight -= 1

    def _token_error(self, authorization: str | None) -> str | None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "600"
        expiry = self.tokens.get(token)
        if expiry is None:
            return "601"
        return "602" if expiry <= self.clock() else None

    def _limit_error(self) -> str | None:
        if self.in_flight >= self.limits.concurrent:
            return "615"
        if self.quota_used >= self.limits.daily_quota:
            return "607"
        now = self.clock()
        while self._window and now - self._window[0] > self.limits.per_seconds:
            self._window.popleft()
        return "606" if len(self._window) >= self.limits.calls else None

    def batch(self, size: int) -> None:
        """Refuse a call of more records than Marketo takes."""
        with self.lock:
            self.largest_batch = max(self.largest_batch, size)
        if size > self.limits.batch:
            raise Refused("1003", f"Too many records: {size} (at most {self.limits.batch})")

    # --- leads ----------------------------------------------------------------------------

    def lead_id(self, email: str) -> int | None:
        """The id of the lead with this e-mail (any case), if any."""
        with self.lock:
            return self._by_email.get(email.lower())

    def sync(self, action: str, lookup: str, records: Sequence[Any]) -> list[Result]:
        """``POST /rest/v1/leads.json``: one result per record, in order."""
        if lookup != "email":
            raise Refused("1011", f"Field '{lookup}' not supported as lookupField")
        if action == "createDuplicate":
            raise Refused("1003", "createDuplicate is not supported by this fake")
        self.batch(len(records))
        with self.lock:
            return [self._sync_one(action, record) for record in records]

    def _sync_one(self, action: str, record: Any) -> Result:
        email = record.get("email") if isinstance(record, dict) else None
        if not isinstance(email, str) or not email:
            return _skipped("1003", "Value for lookup field 'email' not found")
        for name, value in record.items():
            if name not in WRITABLE:
                return _skipped("1006", f"Field '{name}' not found")
            if isinstance(value, dict | list):
                return _skipped("1003", f"Invalid value for field '{name}'")
        found = self._by_email.get(email.lower())
        if found is not None and action == "createOnly":
            return _skipped("1005", "Lead already exists")
        if found is None and action == "updateOnly":
            return _skipped("1004", "Lead not found")
        values = {name: _text(value) for name, value in record.items() if name != "email"}
        if found is not None:
            lead = self.leads[found]
            lead.update(values)
            lead["updatedAt"] = _now()
            return {"id": found, "status": "updated"}
        lead_id, stamp = next(self._lead_ids), _now()
        self.leads[lead_id] = {"id": lead_id, "email": email, **values,
                               "createdAt": stamp, "updatedAt": stamp}
        self._created[lead_id] = datetime.now(UTC)
        self._by_email[email.lower()] = lead_id
        return {"id": lead_id, "status": "created"}

    def find(self, filter_type: str, values: Sequence[str]) -> list[Lead]:
        """The leads matching `values` of `filter_type` (email or id), by id."""
        self.batch(len(values))
        with self.lock:
            if filter_type == "email":
                ids = {self._by_email.get(v.lower()) for v in values}
            elif filter_type == "id":
                ids = {int(v) for v in values if v.strip().isdigit()}
            else:
                raise Refused("1011", f"Field '{filter_type}' not supported as filterType")
            return [self.leads[i] for i in sorted(i for i in ids if i in self.leads)]

    def delete(self, ids: Sequence[int]) -> list[Result]:
        """``POST /rest/v1/leads/delete.json``: the leads and their memberships go."""
        self.batch(len(ids))
        with self.lock:
            out: list[Result] = []
            for lead_id in ids:
                lead = self.leads.pop(lead_id, None)
                self._created.pop(lead_id, None)
                if lead is None:
                    out.append({"id": lead_id, **_skipped("1004", "Lead not found")})
                    continue
                del self._by_email[lead["email"].lower()]
                for members in self.members.values():
                    members.discard(lead_id)
                out.append({"id": lead_id, "status": "deleted"})
            return out

    # --- static lists ---------------------------------------------------------------------

    def create_list(self, name: str, folder: dict[str, Any], description: str) -> StaticList:
        """A new static list; a name in use is refused (709)."""
        with self.lock:
            if any(found.name == name for found in self.lists.values()):
                raise Refused("709", f"Static list name '{name}' is already in use")
            created = StaticList(next(self._list_ids), name, folder, description, _now())
            self.lists[created.id] = created
            self.members[created.id] = set()
            return created

    def list_named(self, name: str) -> StaticList | None:
        """The static list called `name`, if any."""
        with self.lock:
            return next((found for found in self.lists.values() if found.name == name), None)

    def delete_list(self, list_id: int) -> None:
        """Delete a static list and its memberships."""
        with self.lock:
            if self.lists.pop(list_id, None) is None:
                raise Refused("702", f"Static list {list_id} not found")
            del self.members[list_id]

    def change_members(self, list_id: int, ids: Sequence[int], add: bool) -> list[Result]:
        """Add (``added``) or remove (``removed``) leads; unknown leads are skipped (1004),
        and so are non-members on removal (1015)."""
        self.batch(len(ids))
        with self.lock:
            members = self._members(list_id)
            out: list[Result] = []
            for lead_id in ids:
                if lead_id not in self.leads:
                    out.append({"id": lead_id, **_skipped("1004", "Lead not found")})
                elif add:
                    members.add(lead_id)
                    out.append({"id": lead_id, "status": "added"})
                elif lead_id in members:
                    members.discard(lead_id)
                    out.append({"id": lead_id, "status": "removed"})
                else:
                    out.append({"id": lead_id, **_skipped("1015", "Lead not in list")})
            return out

    def is_member(self, list_id: int, ids: Sequence[int]) -> list[Result]:
        """``memberof`` / ``notmemberof`` for each lead (unknown leads skipped, 1004)."""
        self.batch(len(ids))
        with self.lock:
            members = self._members(list_id)
            return [{"id": i, "status": "memberof" if i in members else "notmemberof"}
                    if i in self.leads else {"id": i, **_skipped("1004", "Lead not found")}
                    for i in ids]

    def list_leads(self, list_id: int) -> list[Lead]:
        """The members of a list, by id."""
        with self.lock:
            return [self.leads[i] for i in sorted(self._members(list_id))]

    def _members(self, list_id: int) -> set[int]:
        if list_id not in self.members:
            raise Refused("1013", f"Static list {list_id} not found")
        return self.members[list_id]

    # --- bulk exports ---------------------------------------------------------------------

    def create_export(self, fields: list[str], start: datetime, end: datetime) -> Export:
        """A new export job of the leads created in [start, end)."""
        with self.lock:
            job = Export(secrets.token_hex(8), fields, start, end, _now())
            self.exports[job.id] = job
            return job

    def enqueue(self, export_id: str) -> Export:
        """Queue a job; the fake runs it at once (its file is taken now)."""
        with self.lock:
            job = self.export(export_id)
            if job.status != "Created":
                raise Refused("1029", "Export job already queued")
            rows = [lead for lead_id, lead in sorted(self.leads.items())
                    if job.start <= self._created[lead_id] < job.end]
            out = io.StringIO(newline="")
            writer = csv.writer(out)
            writer.writerow(job.fields)
            writer.writerows([[_cell(lead.get(name)) for name in job.fields] for lead in rows])
            job.file, job.records, job.status = out.getvalue(), len(rows), "Completed"
            return job

    def export(self, export_id: str) -> Export:
        """The export job of that id."""
        with self.lock:
            job = self.exports.get(export_id)
            if job is None:
                raise Refused("1013", f"Export job {export_id} not found")
            return job

    # --- for tests ------------------------------------------------------------------------

    def emails(self) -> list[str]:
        """The e-mail of every lead, duplicates included, sorted."""
        with self.lock:
            return sorted(lead["email"] for lead in self.leads.values())


def page_token(offset: int) -> str:
    """An opaque paging token for the record at `offset`."""
    return base64.urlsafe_b64encode(f"fake:{offset}".encode()).decode()


def page_offset(token: str | None) -> int:
    """The offset a paging token stands for (0 for none); a bad token is refused."""
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("fake:"))
    except ValueError:
        raise Refused("1003", "Invalid nextPageToken") from None


def _skipped(code: str, message: str) -> Result:
    return {"status": "skipped", "reasons": [{"code": code, "message": message}]}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
