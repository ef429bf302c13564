"""The mops side of the benchmark, run in its own process: the list upload end to end.

On a fresh MOPS_HOME holding a copy of the seeded sandbox CRM, through `Jobs` as every
door does, with the embedded defaults (SQLite store, in-process execution):

1. plan: alice requests the upload (`Jobs.request`);
2. apply: bob approves it (`Jobs.decide`), which runs its batches;
3. rollback plan: alice asks for the rollback (`Jobs.rollback`);
4. rollback apply: bob approves that, which runs it.

Then, untimed: the CRM must be back in its initial state and the ledger must verify.

    python -m bench.mops_side --data DIR --work DIR --out result.json [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import shutil
import time
from pathlib import Path
from typing import Any

from agents.requests import JobRequest, ListUploadParams
from approvals import chain
from approvals.policy import Policy
from bench.crmstate import crm_state
from bench.measure import Phases
from mops.app import build
from mops.settings import Settings, Target


def run(data: Path, work: Path, out: Path, batch_size: int,
        profile: Path | None = None, helpers: int | None = None) -> None:
    """Run the four phases on a copy of the data set in `data`; write results to `out`."""
    manifest = json.loads((data / "manifest.json").read_text())
    home = work / "mops-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copyfile(data / "crm.db", home / "sandbox.db")
    settings = Settings(home=home, user="alice", batch_size=batch_size, helpers=helpers,
                        approvals=Policy(),
                        targets={"sandbox": Target()})
    app = build(settings)
    gc.freeze()                # as the CLI does once the app is built (mops.common)
    request = JobRequest(params=ListUploadParams(file=str(data / "leads.csv"),
                                                 list=manifest["list"]),
                         requested_by="alice")
    phases = Phases()
    profiler = cProfile.Profile() if profile else None
    try:
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
        applied = crm_state(home / "sandbox.db")
        if profiler:
            profiler.enable()
        with phases.phase("rollback plan"):
            undo = app.jobs.rollback(job.job, "alice")
        _expect(undo.state, "awaiting_approval", "rollback plan")
        with phases.phase("rollback apply"):
            undone = app.jobs.decide(undo.job, "bob", "approve")
        _expect(undone.state, "succeeded", "rollback apply")
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)  # type: ignore[arg-type]
        started = time.perf_counter()
        verification = chain.verify(app.store)
        verify_seconds = time.perf_counter() - started
        final = crm_state(home / "sandbox.db")
    finally:
        app.close()
    phases.write(
        out, summary=done.summary, rollback_summary=undone.summary, applied_state=applied,
        final_state=final, restored=final == manifest["initial"],
        ledger={"ok": verification.ok, "entries": verification.entries,
                "batches": verification.batches, "jobs": verification.jobs,
                "problems": verification.problems[:10]},
        verify_seconds=verify_seconds, store_mb=_size_mb(home / "mops.db"),
    )


def _expect(state: str, wanted: str, phase: str) -> None:
    if state != wanted:
        raise RuntimeError(f"{phase}: the job is {state!r}, expected {wanted!r}")


def _size_mb(db: Path) -> float:
    files: list[Any] = [db, Path(f"{db}-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def main() -> None:
    """Command line (the parent, `bench/upload_bench.py`, calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the phases here")
    parser.add_argument("--helpers", type=int, default=None,
                        help="helper processes (MOPS_HELPERS; default one per core)")
    args = parser.parse_args()
    run(args.data, args.work, args.out, args.batch_size, args.profile, args.helpers)


if __name__ == "__main__":
    main()
