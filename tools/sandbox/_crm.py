"""`SandboxCRM`: the `CRM` protocol on a SQL database (SQLite or PostgreSQL).

The sandbox is the demo CRM mops runs against when no real one is configured. Every public
write runs in one transaction, and so does every read (one snapshot across its chunks).
Paging is by key (``WHERE
email > last ORDER BY email LIMIT n``), so iterating holds no cursor or transaction open
between pages and memory stays bounded however large the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from tools.changes import FieldValues
from tools.errors import SystemFault
from tools.fields import CONTACT_FIELDS
from tools.ratelimit import Limiter, LimiterUnavailable, NoLimit
from tools.records import FieldInfo, Record, WriteResult
from tools.retry import RetryPolicy
from tools.sandbox import _contacts, _lists, _sql
from tools.sandbox._schema import CALLS, METADATA, WRITE_OPTION, make_engine

T = TypeVar("T")
P = ParamSpec("P")

PAGE = 1000
# About half a minute of patience for a shared limiter whose Redis restarts.
LIMITER_RETRY = RetryPolicy(retry_on=(LimiterUnavailable,), max_attempts=10, initial=0.5,
                            multiplier=2, max_wait=5, jitter=0.5)
# On PostgreSQL a concurrent writer may delete a contact between our look and our write
# (say, of a membership); the constraint then fails the statement, and a retry sees the
# new state. SQLite writers take the lock before they look, so they never race.
_ATTEMPTS = 3


class SandboxCRM:
    """A CRM whose contacts and lists live in tables of a SQL database at `url`."""

    def __init__(self, url: str, *, name: str = "sandbox", limiter: Limiter | None = None,
                 record_calls: bool = False) -> None:
        self.name = name
        self._limiter: Limiter = limiter or NoLimit()
        self._record = record_calls
        self._engine = make_engine(url)
        try:
            METADATA.create_all(self._engine)
        except OperationalError as exc:
            self._engine.dispose()
            raise SystemFault(f"sandbox database unavailable: {exc.orig}") from exc

    def describe_fields(self) -> list[FieldInfo]:
        """The contact fields mops knows: the sandbox has exactly these."""
        return list(CONTACT_FIELDS)

    def read_contacts(self, keys: Sequence[str]) -> dict[str, Record]:
        """The contacts among `keys` that exist, by key."""
        return self._read(_contacts.read, keys) if keys else {}

    def create_contacts(self, records: Sequence[Record]) -> list[WriteResult]:
        """Create new contacts; an existing key or an unknown field is an item error."""
        return self._write(_contacts.create, records) if records else []

    def update_contacts(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Set fields of existing contacts; ``None`` or ``""`` empties a field."""
        return self._write(_contacts.update_many, updates) if updates else []

    def delete_contacts(self, keys: Sequence[str]) -> list[WriteResult]:
        """Delete contacts and their list memberships."""
        return self._write(_contacts.delete_many, keys) if keys else []

    def iter_contacts(self) -> Iterator[Record]:
        """Every contact, in key order, a page at a time."""
        after: str | None = None
        while True:
            page = self._read(_contacts.page, after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].key

    def list_exists(self, list_name: str) -> bool:
        """Whether a static list of that name exists."""
        return self._read(_lists.list_id, list_name) is not None

    def create_list(self, list_name: str) -> WriteResult:
        """Create an empty static list; an existing name is an error."""
        return self._write(_lists.create, list_name)

    def delete_list(self, list_name: str) -> WriteResult:
        """Delete a static list and its memberships; a missing list is an error."""
        return self._write(_lists.drop, list_name)

    def list_members(self, list_name: str, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are members of the list (empty if it does not exist)."""
        return self._read(_lists.members, list_name, keys) if keys else set()

    def count_members(self, list_name: str) -> int:
        """How many members the list has (0 if it does not exist)."""
        return self._read(_lists.count, list_name)

    def add_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Add contacts to a list; a member added twice is fine, an unknown contact is not."""
        return self._write(_lists.add, list_name, keys) if keys else []

    def remove_members(self, list_name: str, keys: Sequence[str]) -> list[WriteResult]:
        """Remove contacts from a list; removing a non-member is fine."""
        return self._write(_lists.remove, list_name, keys) if keys else []

    def iter_memberships(self) -> Iterator[tuple[str, str]]:
        """Every (list name, contact key) pair, ordered by list name, then key."""
        for found, name in self._read(_lists.names):
            after: str | None = None
            while True:
                page = self._read(_sql.member_page, found, after, PAGE)
                yield from ((name, key) for key in page)
                if len(page) < PAGE:
                    break
                after = page[-1]

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def calls(self) -> list[tuple[float, str]]:
        """The calls recorded so far (with `record_calls`): arrival time and operation."""
        query = select(CALLS.c.at, CALLS.c.what).order_by(CALLS.c.at)
        with self._engine.connect() as conn:
            return [(float(r.at), str(r.what)) for r in conn.execute(query)]

    def _wait_for_limit(self) -> None:
        """Wait for the rate limit; a limiter whose Redis is briefly away is waited for too
        (the call has not been made, so nothing is lost by waiting)."""
        LIMITER_RETRY.call(self._limiter.acquire)

    def _arrive(self, conn: Connection, work: Callable[..., object], at: float) -> None:
        """Record a call's arrival (the moment it entered the sandbox), if asked to."""
        if self._record:
            conn.execute(insert(CALLS).values(at=at, what=work.__name__))

    def _read(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs,
    ) -> T:
        self._wait_for_limit()         # each call is one request to the target
        at = time.time()
        try:
            # An explicit BEGIN: the driver's own cursor does not trigger SQLAlchemy's.
            with self._engine.connect() as conn, conn.begin():
                self._arrive(conn, work, at)
                return work(conn, *args, **kwargs)
        except OperationalError as exc:
            raise SystemFault(f"sandbox database unavailable: {exc.orig}") from exc

    def _write(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs,
    ) -> T:
        self._wait_for_limit()
        at = time.time()
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self._engine.connect() as conn:
                    conn.execution_options(**{WRITE_OPTION: True})
                    with conn.begin():
                        self._arrive(conn, work, at)
                        return work(conn, *args, **kwargs)
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
            except OperationalError as exc:
                raise SystemFault(f"sandbox database unavailable: {exc.orig}") from exc
        raise AssertionError("unreachable")
