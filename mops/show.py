"""`mops show`: a plan's summary, its changes as a diff table, and its rejects."""

from __future__ import annotations

from itertools import islice

from rich.table import Table

from mops import output
from mops.app import App
from mops.views import job_view


def show_plan(app: App, job: int, as_json: bool, limit: int) -> None:
    """Print the job and the first `limit` changes and rejects."""
    rows = app.runtime.rows
    view = job_view(app.store, app.runtime.gate, app.store.get(job), limit)
    changes = list(islice(rows.changes(job, limit=limit), limit))
    if as_json:
        view["changes"] = [{"batch": b, "seq": s, **c.model_dump()} for b, s, c in changes]
        output.print_json(view)
        return
    output.job_panel(view)
    total = view["progress"]["total"]
    table = Table("op", "record", "field", "before", "→ after", "why",
                  title=f"changes (first {len(changes)} of {total})")
    for _, _, c in changes:
        record = c.key if not c.list_name else f"{c.key} in {c.list_name}"
        fields = sorted(set(c.after or {}) | set(c.before or {})) or [""]
        for i, f in enumerate(fields):
            table.add_row(c.op if i == 0 else "", record if i == 0 else "", f,
                          output.show_value((c.before or {}).get(f)),
                          output.show_value((c.after or {}).get(f)), c.reason if i == 0 else "")
    output.out.print(table)
    output.rejects_table(view["rejects"], rows.count_rejects(job))
