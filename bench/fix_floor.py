"""The floor of the fix benchmarks: the same work as one direct script, with no framework.

The pure per-row work is shared with mops and is the work itself: `tools.utm.url.fix_url`
for a link, `tools.derive.country_from_phone` for a contact. Everything else mops does (the
stored plan, approvals, batches, the hash-chained ledger, the cell store of the fixed copy,
the records it reads contacts as) is the framework's share of the time, and is what the
ratio to this floor measures.

Links (`--kind links`):

1. plan: read the CSV with polars; fix each URL; count changes and decisions;
2. apply: save a rollback log of (row, before, after) in its own SQLite file (committed
   first), then write the fixed copy with polars (aside, then renamed);
3. rollback plan: read the log and the fixed copy; a row still holding what was written is
   restored, any other is a conflict and is left alone;
4. rollback apply: write the copy again with the before values.

Contacts (`--kind backfill`), on a copy of the CRM file:

1. plan: count the contacts with a country; select those without one; derive a country
   from each phone (once per distinct phone);
2. apply: save the rollback log of (email, before, after) (committed first), then update in
   one transaction with `executemany`;
3. rollback plan: join the log with the contacts: a contact still holding what was written
   is restored, any other is a conflict;
4. rollback apply: write the before values back in one transaction.

    python -m bench.fix_floor --kind links|backfill --data DIR --work DIR --out FILE
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from bench.crmstate import crm_state
from bench.fix_generate import file_state
from bench.floor import connect
from bench.measure import Phases
from tools.derive import country_from_phone
from tools.utm.taxonomy import load_taxonomy
from tools.utm.url import fix_url

COLUMN = "url"


# --- links ------------------------------------------------------------------------------

@dataclass
class LinkPlan:
    """The links file, its fixed links, the rows that change, and the plan's counts."""

    frame: pl.DataFrame
    fixed: list[str]
    changed: list[int]               # row indexes (0-based, data rows)
    summary: dict[str, int]


def plan_links(data: Path) -> LinkPlan:
    """Read the file and fix every URL."""
    taxonomy = load_taxonomy(data / "utm.toml")
    frame = pl.read_csv(data / "links.csv", infer_schema=False)
    urls = frame[COLUMN].to_list()
    fixed, changed, decisions = [], [], 0
    for index, url in enumerate(urls):
        fix = fix_url(url, taxonomy)
        fixed.append(fix.url)
        decisions += len(fix.decisions)
        if fix.url != url:
            changed.append(index)
    summary = {"update": len(changed), "unchanged": len(urls) - len(changed),
               "needs_decision": decisions}
    return LinkPlan(frame, fixed, changed, summary)


def apply_links(plan: LinkPlan, log: sqlite3.Connection, out: Path) -> None:
    """Log (row, before, after), committed; then write the fixed copy."""
    before = plan.frame[COLUMN]
    log.execute("CREATE TABLE log (row INTEGER PRIMARY KEY, before TEXT, after TEXT)")
    log.execute("BEGIN")
    log.executemany("INSERT INTO log VALUES (?, ?, ?)",
                    ((i, before[i], plan.fixed[i]) for i in plan.changed))
    log.execute("COMMIT")
    _write(plan.frame.with_columns(pl.Series(COLUMN, plan.fixed, dtype=pl.String)), out)


def plan_links_rollback(log: sqlite3.Connection, out: Path,
                        ) -> tuple[pl.DataFrame, list[tuple[int, str]], int]:
    """The fixed copy, the (row, before) to restore, and the number of conflicts."""
    frame = pl.read_csv(out, infer_schema=False)
    current = frame[COLUMN].to_list()
    restore, conflicts = [], 0
    for row, before, after in log.execute("SELECT row, before, after FROM log"):
        if current[row] == after:
            restore.append((row, before))
        else:
            conflicts += 1
    return frame, restore, conflicts


def rollback_links(frame: pl.DataFrame, restore: list[tuple[int, str]], out: Path) -> None:
    """Write the copy again with the before values."""
    urls = frame[COLUMN].to_list()
    for row, before in restore:
        urls[row] = before
    _write(frame.with_columns(pl.Series(COLUMN, urls, dtype=pl.String)), out)


def _write(frame: pl.DataFrame, out: Path) -> None:
    """Write the CSV as the input was written (CRLF), aside and then renamed over `out`."""
    tmp = out.with_name(f".{out.name}.tmp")
    frame.write_csv(tmp, line_terminator="\r\n")
    os.replace(tmp, out)


def run_links(data: Path, home: Path, phases: Phases) -> dict[str, Any]:
    """The four phases on the links file; the results to report."""
    out = home / "links.fixed.csv"
    log = sqlite3.connect(home / "log.db", isolation_level=None)
    log.execute("PRAGMA journal_mode=WAL")
    log.execute("PRAGMA synchronous=NORMAL")
    try:
        with phases.phase("plan"):
            plan = plan_links(data)
        with phases.phase("apply"):
            apply_links(plan, log, out)
        summary = plan.summary
        del plan
        applied = file_state(out)
        with phases.phase("rollback plan"):
            frame, restore, conflicts = plan_links_rollback(log, out)
        with phases.phase("rollback apply"):
            rollback_links(frame, restore, out)
    finally:
        log.close()
    return {"summary": summary, "rollback_summary": _counts(update=len(restore),
                                                            conflict=conflicts),
            "applied_state": applied, "final_state": file_state(out)}


# --- contacts ---------------------------------------------------------------------------

@dataclass
class Backfill:
    """The (email, before, after) to write, and the plan's counts."""

    updates: list[tuple[str, str | None, str]]
    summary: dict[str, int]


def plan_backfill(db: sqlite3.Connection) -> Backfill:
    """Derive a country for every contact without one, once per distinct phone."""
    kept = db.execute("SELECT count(*) FROM contacts WHERE country IS NOT NULL"
                      " AND country != ''").fetchone()[0]
    cache: dict[str | None, str | None] = {}
    updates, undecided = [], 0
    for email, country, phone in db.execute(
            "SELECT email, country, phone FROM contacts WHERE country IS NULL OR country = ''"):
        if phone not in cache:
            cache[phone] = country_from_phone({"phone": phone})
        value = cache[phone]
        if value:
            updates.append((email, country or None, value))
        else:
            undecided += 1
    return Backfill(updates, _counts(kept=kept, undecided=undecided, update=len(updates)))


def apply_backfill(db: sqlite3.Connection, plan: Backfill) -> None:
    """Log (email, before, after), committed; then update in one transaction."""
    db.execute("CREATE TABLE log.backfill (email TEXT PRIMARY KEY, before TEXT, after TEXT)")
    db.execute("BEGIN")
    db.executemany("INSERT INTO log.backfill VALUES (?, ?, ?)", plan.updates)
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.executemany("UPDATE contacts SET country = ?, updated_at = CURRENT_TIMESTAMP"
                   " WHERE email = ?", ((after, email) for email, _, after in plan.updates))
    db.execute("COMMIT")


def plan_backfill_rollback(db: sqlite3.Connection) -> tuple[list[tuple[str | None, str]], int]:
    """The (before, email) to restore, and the number of conflicts."""
    restore = db.execute(
        "SELECT l.before, l.email FROM log.backfill l JOIN contacts c ON c.email = l.email"
        " WHERE c.country IS l.after").fetchall()
    total = db.execute("SELECT count(*) FROM log.backfill").fetchone()[0]
    return restore, total - len(restore)


def rollback_backfill(db: sqlite3.Connection, restore: list[tuple[str | None, str]]) -> None:
    """Write the before values back in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    db.executemany("UPDATE contacts SET country = ?, updated_at = CURRENT_TIMESTAMP"
                   " WHERE email = ?", restore)
    db.execute("COMMIT")


def run_backfill(data: Path, home: Path, phases: Phases) -> dict[str, Any]:
    """The four phases on a copy of the CRM; the results to report."""
    crm = home / "crm.db"
    shutil.copyfile(data / "crm.db", crm)
    db = connect(crm, home / "log.db")
    try:
        with phases.phase("plan"):
            plan = plan_backfill(db)
        with phases.phase("apply"):
            apply_backfill(db, plan)
        summary = plan.summary
        del plan
        applied = crm_state(crm)
        with phases.phase("rollback plan"):
            restore, conflicts = plan_backfill_rollback(db)
        with phases.phase("rollback apply"):
            rollback_backfill(db, restore)
    finally:
        db.close()
    return {"summary": summary, "rollback_summary": _counts(update=len(restore),
                                                            conflict=conflicts),
            "applied_state": applied, "final_state": crm_state(crm)}


def _counts(**counts: int) -> dict[str, int]:
    """The non-zero counts, as a plan summary shows them."""
    return {name: n for name, n in counts.items() if n}


def run(kind: str, data: Path, work: Path, out: Path) -> None:
    """The four phases of `kind` on the data set in `data`; results to `out`."""
    manifest = json.loads((data / "manifest.json").read_text())
    home = work / "floor"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    phases = Phases()
    result = (run_links if kind == "links" else run_backfill)(data, home, phases)
    phases.write(out, **result, restored=result["final_state"] == manifest["initial"])


def main() -> None:
    """Command line (the parent, `bench/fix_bench.py`, calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("links", "backfill"), required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    run(args.kind, args.data, args.work, args.out)


if __name__ == "__main__":
    main()
