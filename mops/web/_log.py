"""The action log as the web door shows and exports it: state changes, decisions and every
write, filtered by job, user, record and date, as CSV or JSONL.

A user is whoever caused a state change or took a decision; writes are done by the job, so
a user filter leaves them out, and a record filter leaves only the writes to that record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from itertools import chain
from typing import Any

import orjson

from approvals import ledger
from approvals.users import normalise
from mops.app import App
from mops.log_commands import _events as people_events
from mops.views import entry_view

COLUMNS = ("type", "job", "at", "actor", "door", "from", "to", "verdict", "digest", "comment",
           "note", "batch", "seq", "op", "object", "key", "list", "before", "after", "status",
           "error", "hash")
# A spreadsheet runs a cell that starts with one of these as a formula: CSV injection.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BadFilter(ValueError):
    """A log filter that cannot be read (a job that is not a number, a date not YYYY-MM-DD)."""


@dataclass(frozen=True)
class LogFilter:
    """Which log entries to show; every filter given must hold."""

    job: int | None = None
    user: str | None = None
    record: str | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, job: str = "", user: str = "", record: str = "", since: str = "",
              until: str = "") -> LogFilter:
        """From query parameters as a form sends them (an empty field is no filter)."""
        try:
            return cls(job=int(job) if job.strip() else None,
                       user=normalise(user) or None, record=record.strip() or None,
                       since=date.fromisoformat(since) if since.strip() else None,
                       until=date.fromisoformat(until) if until.strip() else None)
        except ValueError as exc:
            raise BadFilter(f"bad log filter: {exc} (job is a number, dates YYYY-MM-DD)") \
                from exc

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for links to other pages and the exports)."""
        return {k: str(v) for k, v in asdict(self).items() if v is not None}

    def on_day(self, at: str) -> bool:
        """Whether the ISO timestamp `at` (UTC) falls within since..until."""
        day = at[:10]
        return ((self.since is None or day >= self.since.isoformat())
                and (self.until is None or day <= self.until.isoformat()))


def events(app: App, f: LogFilter) -> Iterator[dict[str, Any]]:
    """Log entries as `mops log --json` prints them: who did what first, then the writes."""
    if f.job is not None:
        app.store.get(f.job)     # an unknown job fails now, not halfway through a download
    return _events(app, f)


def _events(app: App, f: LogFilter) -> Iterator[dict[str, Any]]:
    if f.record is None:
        yield from (e for e in people_events(app, f.job)
                    if (f.user is None or e["actor"] == f.user) and f.on_day(e["at"]))
    if f.user is None:
        writes = map(entry_view, ledger.entries(app.store, f.job, key=f.record))
        yield from (e for e in writes if f.on_day(e["at"]))


def as_csv(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV lines, a header first; cells a spreadsheet would run as formulas are neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rows = ([cell(e.get(c)) for c in COLUMNS] for e in entries)
    for row in chain([COLUMNS], rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def as_jsonl(entries: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One JSON object a line."""
    return (orjson.dumps(e) + b"\n" for e in entries)


def cell(value: object) -> str:
    """A CSV cell: JSON for before/after, and a leading ' before a formula's first sign."""
    if value is None:
        return ""
    text = orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
