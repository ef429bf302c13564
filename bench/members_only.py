"""What one list membership costs in each phase: an upload of existing contacts only.

The file lists N contacts of a generated data set's CRM by e-mail and nothing else, so the
plan holds N `add_member` changes (and the list's creation), every row otherwise unchanged;
the rollback removes the N members again. The four phases are timed as in
`bench/mops_side.py`, and each is printed in microseconds per membership: memberships are
most of a list upload's changes, and this isolates them.

    python -m bench.members_only --data bench/data/leads-1000000-s7 --rows 200000 \\
        --work /tmp/members
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from agents.requests import JobRequest, ListUploadParams
from approvals.policy import Policy
from approvals.store import Job
from bench.measure import Phases
from mops.app import build
from mops.settings import Settings, Target

LIST = "Members only"


def run(data: Path, rows: int, work: Path) -> dict[str, float]:
    """Upload `rows` existing contacts of `data`'s CRM to a new list, approve, roll back and
    approve that; seconds per phase."""
    home, csv = work / "mops-home", work / "members.csv"
    shutil.rmtree(home, ignore_errors=True)      # only what an earlier run made
    home.mkdir(parents=True)
    shutil.copyfile(data / "crm.db", home / "sandbox.db")
    with closing(sqlite3.connect(home / "sandbox.db")) as db:
        emails = [r[0] for r in db.execute("SELECT email FROM contacts LIMIT ?", (rows,))]
    if len(emails) < rows:
        raise SystemExit(f"{data / 'crm.db'} has {len(emails):,} contacts, not {rows:,}")
    csv.write_text("email\n" + "\n".join(emails) + "\n")
    settings = Settings(home=home, user="alice", approvals=Policy(),
                        targets={"sandbox": Target()})
    app = build(settings)
    phases = Phases()
    try:
        with phases.phase("plan"):
            job = app.jobs.request(JobRequest(
                params=ListUploadParams(file=str(csv), list=LIST), requested_by="alice"))
        with phases.phase("apply"):
            done = app.jobs.decide(job.job, "bob", "approve")
        with phases.phase("rollback plan"):
            undo = app.jobs.rollback(job.job, "alice")
        with phases.phase("rollback apply"):
            undone = app.jobs.decide(undo.job, "bob", "approve")
        members = app.connect("sandbox").count_members(LIST)
    finally:
        app.close()
    _check([job, done, undo, undone], rows, members)
    return {p["phase"]: p["seconds"] for p in phases.phases}


def _check(jobs: list[Job], rows: int, members: int) -> None:
    """Refuse the timings of a run that did not do what it should: each job ended as
    expected, `rows` members added and removed, none left."""
    states = [job.state for job in jobs]
    if states != ["awaiting_approval", "succeeded", "awaiting_approval", "succeeded"]:
        raise SystemExit(f"a phase failed: the jobs ended {', '.join(states)}")
    done, undone = jobs[1], jobs[3]
    if done.summary.get("add_member") != rows or undone.summary.get("remove_member") != rows \
            or members != 0:
        raise SystemExit(f"unexpected plans: {done.summary} then {undone.summary}; "
                         f"{members} members left")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="a data set of bench.generate (its crm.db is copied)")
    parser.add_argument("--rows", type=int, default=100_000, help="memberships to upload")
    parser.add_argument("--work", type=Path, required=True, help="a directory to replace")
    args = parser.parse_args()
    gc.freeze()                # as the CLI does once the app is built (mops.common)
    seconds = run(args.data, args.rows, args.work)
    for phase, s in seconds.items():
        print(f"{phase:15} {s:7.2f} s  {s / args.rows * 1e6:6.1f} µs per membership")
    total = sum(seconds.values())
    print(f"{'end to end':15} {total:7.2f} s  {total / args.rows * 1e6:6.1f} µs per membership")


if __name__ == "__main__":
    main()
