"""Every lead, through the Bulk Lead Extract: the one way Marketo lists all leads.

An export job filters on ``createdAt`` over at most 31 days, so the time since the first
lead is cut into windows of 31 days, and each window is one job: create, enqueue, wait for
``Completed``, download the CSV. Leads are told apart by id (a lead created on the edge of
two windows comes back once).

When the first lead was created: lead ids grow with creation, so the oldest of ids 1-300
still there is the oldest lead of all (one call). If those are all gone, the windows start
in 2006, before any Marketo instance: some 250 jobs, so pass `created_since` then.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from tools.marketo._client import MarketoClient
from tools.marketo._errors import MarketoError
from tools.marketo._results import BATCH

WINDOW = timedelta(days=31)
EXPORTS = "/bulk/v1/leads/export"
EARLIEST = datetime(2006, 1, 1, tzinfo=UTC)
# Waits between status checks: an export takes seconds on a fake, minutes on Marketo.
_FIRST_WAIT, _MAX_WAIT, _TIMEOUT = 0.05, 60.0, 6 * 3600.0


def export_leads(client: MarketoClient, fields: Sequence[str], since: datetime | None, *,
                 sleep: Callable[[float], None] = time.sleep) -> Iterator[dict[str, str]]:
    """Every lead created since `since` (by default, since the first), each once, as CSV
    rows keyed by field name."""
    seen: set[str] = set()
    asked = list(dict.fromkeys(["id", *fields]))
    start_at = since or first_lead(client) or EARLIEST
    for start, end in windows(start_at, datetime.now(UTC)):
        for row in _export(client, asked, start, end, sleep):
            if row["id"] not in seen:
                seen.add(row["id"])
                yield row


def first_lead(client: MarketoClient) -> datetime | None:
    """A day before the oldest of the leads with ids 1-300, if any is still there."""
    ids = ",".join(str(n) for n in range(1, BATCH + 1))
    answer = client.call("GET", "/rest/v1/leads.json", params={
        "filterType": "id", "filterValues": ids, "fields": "createdAt", "batchSize": BATCH})
    stamps = [datetime.fromisoformat(str(lead["createdAt"])) for lead in answer.result
              if lead.get("createdAt")]
    return min(stamps) - timedelta(days=1) if stamps else None


def windows(since: datetime, now: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Windows of 31 days from `since` on, the last one reaching a day past `now` (so that
    a clock behind Marketo's does not miss its newest leads)."""
    start, stop = since.astimezone(UTC), now.astimezone(UTC) + timedelta(days=1)
    while start < stop:
        yield start, min(start + WINDOW, stop)
        start += WINDOW


def _export(client: MarketoClient, fields: list[str], start: datetime, end: datetime,
            sleep: Callable[[float], None]) -> list[dict[str, str]]:
    body = {"fields": fields, "format": "CSV",
            "filter": {"createdAt": {"startAt": _iso(start), "endAt": _iso(end)}}}
    created = client.call("POST", f"{EXPORTS}/create.json", json=body)
    job = str(created.result[0]["exportId"])
    client.call("POST", f"{EXPORTS}/{job}/enqueue.json")
    _wait(client, job, sleep)
    text = client.send("GET", f"{EXPORTS}/{job}/file.json").text
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _wait(client: MarketoClient, job: str, sleep: Callable[[float], None]) -> None:
    wait, waited = _FIRST_WAIT, 0.0
    while True:
        answer = client.call("GET", f"{EXPORTS}/{job}/status.json")
        status = str(answer.result[0].get("status")) if answer.result else "unknown"
        if status == "Completed":
            return
        where = f"GET {EXPORTS}/{job}/status.json"
        if status in ("Failed", "Cancelled", "Canceled"):
            raise MarketoError(where, "-", f"the lead export ended {status}")
        if waited > _TIMEOUT:
            raise MarketoError(where, "-", f"the lead export is still {status} after "
                               f"{_TIMEOUT / 3600:g} hours")
        sleep(wait)
        waited += wait
        wait = min(wait * 2, _MAX_WAIT)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
