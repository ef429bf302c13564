"""List upload: a CSV of leads into the CRM, every accepted row added to a static list.

Rows are read, normalised and validated in chunks (`tools.leads`), then planned in e-mail
order (`tools.key_sort`); duplicates inside the file become one change; a row matching an
existing contact updates only the fields that differ (an empty cell never blanks a value);
new e-mails are created; every accepted row joins the list, which is created first if it is
missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from agents.kinds import PlanContext, Services
from agents.plans import Reject
from agents.requests import ListUploadParams
from agents.suggest import FuzzySuggester, Suggester
from tools.changes import MEMBER_IN, MEMBER_OUT, Change, FieldValues
from tools.collector import paused
from tools.fields import CONTACT_FIELD_NAMES
from tools.key_sort import KeySort
from tools.leads import Lead, read_leads
from tools.phone_pool import helpers_for

STAGE_LIST, STAGE_CONTACTS, STAGE_MEMBERS = 0, 1, 2


class ListUploadKind:
    """Plans a list upload."""

    name = "list_upload"
    params = ListUploadParams

    def __init__(self, services: Services | None = None, chunk_size: int = 5000) -> None:
        self.chunk_size = chunk_size
        self.suggester = services.suggester if services else FuzzySuggester()
        self.helpers = services.helpers if services else 0

    def plan(self, params: ListUploadParams, ctx: PlanContext) -> None:
        """Read the file and propose creates, updates and memberships."""
        helpers = helpers_for(params.file, self.helpers)
        with read_leads(params.file, params.mapping, helpers) as reader:
            if reader.columns.unknown:
                ctx.plan.notes.append(
                    f"columns not mapped, ignored: {', '.join(reader.columns.unknown)} "
                    "(use --map HEADER=field to map one)")
                ctx.plan.notes.extend(_suggestions(self.suggester, reader.columns.unknown))
            list_exists = ctx.crm.list_exists(params.list)
            if not list_exists:
                ctx.plan.add(STAGE_LIST, Change(
                    op="create", object="list", key=params.list, after={"name": params.list},
                    reason=f"the list {params.list!r} does not exist yet"))
            # The whole file is read (and its rejects recorded) before anything is planned;
            # leads are then planned in e-mail order, so each batch's writes land together
            # in a SQL target's indexes, and duplicates of an e-mail come together.
            by_email: KeySort[Lead] = KeySort(_encode, _decode)
            try:
                for chunk in reader.chunks(self.chunk_size):
                    ctx.plan.reject([Reject(row=r.row, reason=r.reason, field=r.field,
                                            value=r.value) for r in chunk.rejects])
                    with paused():
                        for lead in chunk.leads:
                            by_email.add(lead.email, lead)
                pages = _unique(by_email.pages(self.chunk_size), ctx)
                while True:
                    with paused():   # a chunk's objects are scanned once, when it is done
                        leads = next(pages, None)
                        if leads is None:
                            break
                        self._plan_chunk(leads, params.list, list_exists, ctx)
            finally:
                by_email.close()
    def _plan_chunk(self, leads: list[Lead], list_name: str, list_exists: bool,
                    ctx: PlanContext) -> None:
        emails = [lead.email for lead in leads]
        existing = ctx.crm.read_contacts(emails)
        members = ctx.crm.list_members(list_name, emails) if list_exists else set()
        add, count = ctx.plan.add, ctx.plan.count       # once per chunk, not per lead
        joins = f": joins {list_name!r}"
        for lead in leads:
            email, fields = lead.email, lead.fields
            record = existing.get(email)
            if record is None:
                add(STAGE_CONTACTS, Change("create", "contact", email, None, dict(fields),
                                           None, f"row {lead.row}: new contact"))
            else:
                held = record.fields
                diff: FieldValues = {f: v for f, v in fields.items()
                                     if (held.get(f) or None) != v}
                if diff:
                    add(STAGE_CONTACTS, Change(
                        "update", "contact", email, {f: held.get(f) for f in diff}, diff,
                        None, f"row {lead.row}: {', '.join(diff)} differ"))
                else:
                    count("unchanged")
            if email in members:
                count("already_member")
            else:
                add(STAGE_MEMBERS, Change("add_member", "list_membership", email,
                                          dict(MEMBER_OUT), dict(MEMBER_IN), list_name,
                                          f"row {lead.row}{joins}"))


def _suggestions(suggester: Suggester, unknown: list[str]) -> list[str]:
    """Suggested mappings of unmapped headers, for a person to apply with --map (a suggestion
    never changes the plan by itself)."""
    found = suggester.map_headers(unknown, list(CONTACT_FIELD_NAMES))
    return [f"suggested by {s.by}: column {header!r} may be {s.value} "
            f"(--map {header!r}={s.value})" for header, s in found.items()]


def _unique(pages: Iterator[list[Lead]], ctx: PlanContext) -> Iterator[list[Lead]]:
    """Keep the first row of each e-mail; report later rows as duplicates of it. Leads come
    in e-mail order, rows of one e-mail in row order."""
    email, first = "", 0
    for leads in pages:
        unique, duplicates = [], []
        for lead in leads:
            if lead.email != email:
                email, first = lead.email, lead.row
                unique.append(lead)
            else:
                duplicates.append(Reject(
                    row=lead.row, field="email", value=lead.email, kind="duplicate",
                    reason=f"duplicate of row {first} (same email); the first row is used"))
        ctx.plan.reject(duplicates)
        yield unique


def _encode(lead: Lead) -> bytes:
    return orjson.dumps((lead.row, lead.email, lead.fields))


def _decode(blob: bytes) -> Lead:
    row, email, fields = orjson.loads(blob)
    return Lead(row, email, fields)
