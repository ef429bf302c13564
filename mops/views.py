"""What the doors show of jobs, plans and the ledger, as plain JSON-ready data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from approvals import schema as t
from approvals.gate import Gate
from approvals.ledger import LedgerEntry
from approvals.plan_rows import PlanRows
from approvals.store import Job, Store

SUMMARY_KEYS = ("create", "update", "unchanged", "add_member", "rejected", "duplicate")


def job_view(store: Store, gate: Gate, job: Job, rejects: int | None = None) -> dict[str, Any]:
    """A job as `--json` prints it: state, plan summary, progress, decisions and rejects."""
    rows = PlanRows(store)
    summary = {key: 0 for key in SUMMARY_KEYS} | job.summary
    return {
        "job": job.job, "kind": job.kind, "state": job.state,
        "requested_by": job.requested_by, "source": job.source, "target": job.target,
        "params": job.params, "digest": job.digest, "summary": summary,
        "fields": job.fields, "notes": job.notes, "requirement": job.requirement,
        "progress": progress(store, job), "error": job.error,
        "decisions": [d.model_dump(mode="json", exclude={"job"})
                      for d in gate.decisions(job.job)],
        "rejects": rows.rejects(job.job, limit=rejects),
        "created_at": job.created_at.isoformat(), "updated_at": job.updated_at.isoformat(),
    }


def progress(store: Store, job: Job) -> dict[str, int]:
    """Changes applied and failed so far, of the plan's total."""
    query = select(func.coalesce(func.sum(t.batches.c.applied), 0),
                   func.coalesce(func.sum(t.batches.c.failed), 0)).where(
                       t.batches.c.job == job.job)
    with store.engine.connect() as conn:
        applied, failed = conn.execute(query).one()
    return {"applied": int(applied), "failed": int(failed), "total": job.total}


def entry_view(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry as `mops log --json` prints it."""
    c = entry.change
    return {"type": "write", "job": entry.job, "batch": entry.batch, "seq": entry.seq,
            "op": c.op, "object": c.object, "key": c.key, "list": c.list_name,
            "before": c.before, "after": c.after, "status": entry.status,
            "error": entry.error, "at": entry.recorded_at, "hash": entry.hash}
