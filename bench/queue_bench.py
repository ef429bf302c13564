"""The list upload through the queue, beside the embedded default, in the same run.

    python bench/queue_bench.py --rows 100000 [--workers 2] [--write-docs]

Both sides start from the same generated data (`bench.generate`) and the same copy of the
seeded sandbox CRM, and run the same four phases (plan, apply, rollback plan, rollback
apply) through `Jobs`:
- embedded: SQLite job store, in-process execution;
- queued: PostgreSQL job store (a throwaway database on 127.0.0.1:5432), Redis broker
  (database 14 of 127.0.0.1:6379, its own queue name), `--workers` `mops worker`
  processes (concurrency 1 each), the driver polling the store for each phase's end.
Reports seconds per phase, the ratio queued/embedded, and the queue's overhead per batch:
(queued − embedded apply seconds) ÷ batches applied.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.requests import JobRequest, ListUploadParams  # noqa: E402
from approvals.states import FINAL  # noqa: E402
from bench import report  # noqa: E402
from bench.crmstate import crm_state  # noqa: E402
from bench.generate import DATA  # noqa: E402
from bench.upload_bench import ensure_data  # noqa: E402
from mops.app import App, build  # noqa: E402
from mops.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("plan", "apply", "rollback plan", "rollback apply")


def run_side(app: App, data: Path, manifest: dict[str, Any]) -> dict[str, float]:
    """The four phases through `Jobs`, each timed until the job reaches its next rest."""
    times: dict[str, float] = {}
    request = JobRequest(params=ListUploadParams(file=str(data / "leads.csv"),
                                                 list=manifest["list"]), requested_by="alice")
    start = time.perf_counter()
    job = _settle(app, app.jobs.request(request).job, "awaiting_approval")
    times["plan"] = time.perf_counter() - start
    start = time.perf_counter()
    app.jobs.decide(job, "bob", "approve")
    _settle(app, job, "succeeded")
    times["apply"] = time.perf_counter() - start
    start = time.perf_counter()
    undo = _settle(app, app.jobs.rollback(job, "alice").job, "awaiting_approval")
    times["rollback plan"] = time.perf_counter() - start
    start = time.perf_counter()
    app.jobs.decide(undo, "bob", "approve")
    _settle(app, undo, "succeeded")
    times["rollback apply"] = time.perf_counter() - start
    return times


def _settle(app: App, job: int, wanted: str) -> int:
    while True:
        state = app.store.get(job).state
        if state == wanted:
            return job
        if state in FINAL:
            raise RuntimeError(f"job {job} ended {state}, expected {wanted}")
        time.sleep(0.05)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for the queued side's job store."""
    import psycopg

    name = f"mops_bench_{os.getpid()}"
    with psycopg.connect("host=127.0.0.1 dbname=test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect("host=127.0.0.1 dbname=test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def workers(env: dict[str, str], n: int, home: Path) -> Iterator[None]:
    """`n` mops worker processes (concurrency 1 each), stopped afterwards."""
    procs = []
    for i in range(n):
        with open(home / f"worker{i}.log", "wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "mops", "worker", "--concurrency=1",
                 "--loglevel=WARNING"], env=env, cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
    time.sleep(3)                                  # let them connect before timing starts
    try:
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def fresh_home(root: Path, data: Path) -> Path:
    """An empty MOPS_HOME holding a copy of the seeded sandbox CRM."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copyfile(data / "crm.db", root / "sandbox.db")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    data, manifest = ensure_data(args.rows, args.seed, DATA)
    work = DATA / "work" / "queue"
    embedded_home = fresh_home(work / "embedded", data)
    app = build(Settings(home=embedded_home, batch_size=1000))
    try:
        embedded = run_side(app, data, manifest)
        batches = sum(1 for _ in app.runtime.rows.headers(1))
    finally:
        app.close()
    queued_home = fresh_home(work / "queued", data)
    with postgres_database() as store_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOPS_")} | {
            "MOPS_HOME": str(queued_home), "MOPS_DATABASE_URL": store_url,
            "MOPS_BROKER_URL": "redis://127.0.0.1:6379/14",
            "MOPS_QUEUE": f"bench-{uuid.uuid4().hex[:8]}", "MOPS_CONFIG": "/nonexistent"}
        settings = Settings(home=queued_home, database_url=store_url,
                            broker_url=env["MOPS_BROKER_URL"], queue=env["MOPS_QUEUE"])
        app = build(settings)
        try:
            with workers(env, args.workers, queued_home):
                queued = run_side(app, data, manifest)
        finally:
            app.close()
    restored = crm_state(queued_home / "sandbox.db") == manifest["initial"]
    result = {"rows": args.rows, "batches": batches, "embedded": embedded, "queued": queued,
              "restored": restored}
    print(json.dumps(result, indent=2))
    if args.write_docs:
        report.append_docs(section(result, args, report.machine()))


def section(result: dict[str, Any], args: argparse.Namespace, info: dict[str, str]) -> str:
    """The run as a docs/benchmarks.md section."""
    e, q = result["embedded"], result["queued"]
    lines = [f"### Queued path, {result['rows']:,} rows — {time.strftime('%Y-%m-%d %H:%M')} UTC",
             "", f"- command: `python bench/queue_bench.py --rows {args.rows} "
             f"--workers {args.workers} --write-docs`",
             f"- machine: {info['cpus']}; RAM {info['ram']}; {info['os']}; Python "
             f"{info['python']}; commit `{info['commit']}`",
             f"- queued side restored the CRM exactly: {result['restored']}",
             f"- queue overhead per batch (apply): "
             f"{(q['apply'] - e['apply']) / max(result['batches'], 1) * 1000:.1f} ms "
             f"over {result['batches']} batches", "",
             "| phase | embedded s | queued s | queued/embedded |", "|---|---:|---:|---:|"]
    for phase in PHASES:
        lines.append(f"| {phase} | {e[phase]:.2f} | {q[phase]:.2f} | "
                     f"{q[phase] / e[phase]:.2f}× |")
    total_e, total_q = sum(e.values()), sum(q.values())
    lines.append(f"| **end to end** | {total_e:.2f} | {total_q:.2f} | "
                 f"{total_q / total_e:.2f}× |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
