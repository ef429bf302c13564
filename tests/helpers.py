"""Small helpers the tests share: write CSVs, snapshot a CRM, build an app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update

from agents.requests import JobRequest, ListUploadParams
from approvals import chain, ledger
from approvals import schema as t
from approvals.packing import unpack
from approvals.policy import Policy
from mops.app import App, build
from mops.settings import Settings, Target
from tools.changes import canonical_json
from tools.crm import CRM

# 25 new contacts: with `small_batches` (conftest), three batches of contacts.
SMALL_LEADS = "email,firstname\n" + "".join(f"u{i}@example.com,U{i}\n" for i in range(25))


def make_app(home: Path, store_url: str | None = None, crm_url: str | None = None,
             policy: Policy | None = None, batch_size: int = 1000,
             helpers: int | None = 0) -> App:
    """An app on its own home, store and sandbox CRM."""
    settings = Settings(
        home=home, database_url=store_url, user="tester", batch_size=batch_size,
        approvals=policy or Policy(), targets={"sandbox": Target(url=crm_url)},
        helpers=helpers,
    )
    return build(settings)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` byte for byte (no newline translation)."""
    path.write_bytes(text.encode(encoding))
    return path


def upload(app: App, file: Path, list_name: str = "Expo", user: str = "alice",
           mapping: dict[str, str] | None = None) -> int:
    """Request a list upload and return its job id."""
    request = JobRequest(params=ListUploadParams(file=str(file), list=list_name,
                                                 mapping=mapping or {}), requested_by=user)
    return app.jobs.request(request).job


def snapshot(crm: CRM) -> tuple[list[Any], list[Any]]:
    """Everything a CRM holds: contacts with their fields, and list memberships."""
    contacts = [(r.key, {k: v for k, v in r.fields.items() if v is not None})
                for r in crm.iter_contacts()]
    return contacts, sorted(crm.iter_memberships())


def crm_of(app: App) -> CRM:
    """A connection to the app's sandbox CRM (close it)."""
    return app.connect("sandbox")


def tamper_plan(app: App, job: int, key: str | None = None, batch: int | None = None,
                after: dict[str, str] | None = None) -> int:
    """Rewrite, in the store, the `after` of a job's planned changes (of `key`, or of the
    whole `batch`), as someone with access to the database could; how many it changed."""
    b = t.batch_changes.c
    query = select(b.batch, b.changes).where(b.job == job)
    if batch is not None:
        query = query.where(b.batch == batch)
    changed = 0
    with app.store.begin() as conn:
        for found, encoded in conn.execute(query).all():
            changes = [orjson.loads(line) for line in unpack(bytes(encoded)).splitlines()]
            for change in changes:
                if key is None or change["key"] == key:
                    change["after"], changed = after, changed + 1
            conn.execute(update(t.batch_changes).where(b.job == job, b.batch == found).values(
                changes=b"".join(canonical_json(c) + b"\n" for c in changes)))
    return changed


def edit_block(app: App, job: int, batch: int, edit: Callable[[dict[str, Any]], None],
               rehash: bool = False) -> None:
    """Rewrite a batch's block of ledger entries through `edit` (on the decoded block), as
    someone with access to the database could; with `rehash`, its stored hash to match."""
    b = t.ledger_blocks.c
    with app.store.begin() as conn:
        stored = ledger.block(conn, job, batch)
        assert stored is not None, f"job {job} batch {batch} has no block"
        block = orjson.loads(stored[0])
        edit(block)
        encoded = orjson.dumps(block)
        values: dict[str, Any] = {"entries": encoded}
        if rehash:
            values["hash"] = chain.block_hash(encoded)
        conn.execute(update(t.ledger_blocks).where(b.job == job, b.batch == batch)
                     .values(**values))


def as_rows(app: App, job: int, batch: int) -> None:
    """Store a batch's entries as versions before migration 0010 did: a row of `ledger` each,
    chained after the one before, the batch's head chaining its outcome after the last (and
    the job sealed again, if it was, over the new head)."""
    with app.store.begin() as conn:
        stored = ledger.block(conn, job, batch)
        assert stored is not None, f"job {job} batch {batch} has no block"
        rows = ledger.decode_block(stored[0])[2]
        links = chain.links(rows)
        conn.execute(insert(t.ledger), [r | {"prev_hash": prev, "hash": hash}
                                        for r, (prev, hash) in zip(rows, links, strict=True)])
        conn.execute(delete(t.ledger_blocks).where(t.ledger_blocks.c.job == job,
                                                   t.ledger_blocks.c.batch == batch))
        where = (t.batches.c.job == job, t.batches.c.batch == batch)
        outcome = conn.execute(select(t.batches.c.outcome).where(*where)).scalar_one()
        if outcome is not None:
            conn.execute(update(t.batches).where(*where).values(
                head=chain.link(links[-1][1], orjson.loads(outcome))))
        if conn.execute(delete(t.seals).where(t.seals.c.job == job)).rowcount:
            chain.seal_job(conn, job)
