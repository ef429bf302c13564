"""The mops side of the fix benchmarks, in its own process: a UTM fix of a links file, or a
backfill of contacts' country from their phone, end to end.

On a fresh MOPS_HOME, through `Jobs` as every door does, with the embedded defaults (SQLite
store, in-process execution):

1. plan: alice requests the job (`Jobs.request`);
2. apply: bob approves it (`Jobs.decide`), which runs its batches (for links: the fixed
   copy is written through `tools.linksheet`; for contacts: the CRM, a copy of the seeded
   one, is updated in place);
3. rollback plan: alice asks for the rollback (`Jobs.rollback`);
4. rollback apply: bob approves that, which runs it.

Then, untimed: the target must be back as it was, and the ledger must verify.

    python -m bench.fix_mops_side --kind links|backfill --data DIR --work DIR --out FILE \\
        [--batch-size N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.backfill import BackfillParams
from agents.requests import JobRequest
from agents.utm_fix import UtmFixParams
from approvals import chain
from approvals.policy import Policy
from bench.crmstate import crm_state
from bench.fix_generate import file_state
from bench.measure import Phases
from mops.app import App, build
from mops.settings import Settings, Target
from tools.linksheet import cells_path

State = Callable[[], Any]


@dataclass
class Outcome:
    """What the four phases did, and the target's state after apply and at the end."""

    phases: Phases
    summary: dict[str, int]
    rollback_summary: dict[str, int]
    applied: Any
    final: Any
    notes: list[str]


def run(kind: str, data: Path, work: Path, out: Path, batch_size: int,
        profile: Path | None = None) -> None:
    """Run the four phases on the data set in `data`; write results to `out`."""
    manifest = json.loads((data / "manifest.json").read_text())
    home = work / "mops-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = Settings(home=home, user="alice", batch_size=batch_size, approvals=Policy(),
                        targets={"sandbox": Target()})
    request, state, cells = _setup(kind, data, home)
    app = build(settings)
    gc.freeze()                # as the CLI does once the app is built (mops.common)
    try:
        done = _phases(app, request, state, profile)
        started = time.perf_counter()
        verification = chain.verify(app.store)
        verify_seconds = time.perf_counter() - started
    finally:
        app.close()
    done.phases.write(
        out, summary=done.summary, rollback_summary=done.rollback_summary,
        applied_state=done.applied, final_state=done.final,
        restored=done.final == manifest["initial"],
        ledger={"ok": verification.ok, "entries": verification.entries,
                "batches": verification.batches, "jobs": verification.jobs,
                "problems": verification.problems[:10]},
        notes=done.notes[:5], verify_seconds=verify_seconds,
        store_mb=_size_mb(home / "mops.db"),
        cell_store_mb=_size_mb(cells) if cells else 0.0,
    )


def _setup(kind: str, data: Path, home: Path) -> tuple[JobRequest, State, Path | None]:
    """The request, how to read the target's state, and the links' cell store (if links)."""
    if kind == "links":
        output = home / "links.fixed.csv"
        params = UtmFixParams(taxonomy=str(data / "utm.toml"), links=str(data / "links.csv"),
                              column="url", out=str(output))
        request = JobRequest(params=params, requested_by="alice",
                             target=params.target("sandbox"))
        return request, lambda: file_state(output), cells_path(output)
    crm = home / "sandbox.db"
    shutil.copyfile(data / "crm.db", crm)
    backfill = BackfillParams(field="country", derive="country_from_phone")
    return JobRequest(params=backfill, requested_by="alice"), lambda: crm_state(crm), None


def _phases(app: App, request: JobRequest, state: State, profile: Path | None) -> Outcome:
    """Plan, apply, plan the rollback, apply it; the target's state is read between and
    after the phases, outside the timings and the profile."""
    phases = Phases()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    with phases.phase("plan"):
        job = app.jobs.request(request)
    _expect(job.state, "awaiting_approval", "plan")
    with phases.phase("apply"):
        done = app.jobs.decide(job.job, "bob", "approve")
    _expect(done.state, "succeeded", "apply")
    if profiler:
        profiler.disable()
    applied = state()
    if profiler:
        profiler.enable()
    with phases.phase("rollback plan"):
        undo = app.jobs.rollback(job.job, "alice")
    _expect(undo.state, "awaiting_approval", "rollback plan")
    with phases.phase("rollback apply"):
        undone = app.jobs.decide(undo.job, "bob", "approve")
    _expect(undone.state, "succeeded", "rollback apply")
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    return Outcome(phases, done.summary, undone.summary, applied, state(), list(job.notes))


def _expect(state: str, wanted: str, phase: str) -> None:
    if state != wanted:
        raise RuntimeError(f"{phase}: the job is {state!r}, expected {wanted!r}")


def _size_mb(db: Path) -> float:
    files = [db, Path(f"{db}-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def main() -> None:
    """Command line (the parent, `bench/fix_bench.py`, calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("links", "backfill"), required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the phases here")
    args = parser.parse_args()
    run(args.kind, args.data, args.work, args.out, args.batch_size, args.profile)


if __name__ == "__main__":
    main()
