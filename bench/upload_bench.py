"""List upload benchmark: mops end to end against a floor of polars and plain SQL.

    python bench/upload_bench.py --rows 1000000 [--seed 7] [--write-docs]

1. Generates a messy leads CSV of `--rows` rows and a sandbox CRM already holding about
   half of them (`bench.generate`), or reuses the data set made earlier for the same rows
   and seed (under bench/data/, git-ignored).
2. Runs each side in its own process, so each one's peak memory is its own, on its own
   copy of the seeded CRM file:
   - mops (`bench.mops_side`): plan as alice, approve as bob (which applies), plan the
     rollback, approve it (which applies it), through `Jobs` with the embedded defaults;
   - the floor (`bench.floor`): the same data work with polars and sqlite3, no framework.
3. Checks that both plans count what the generator expects, that both leave the CRM in
   the same state after applying, that both restore it exactly, and that mops's ledger
   verifies; prints seconds, rows/s and peak RSS per phase, and the mops/floor ratio.
4. With `--rounds N`, runs the two sides in turns N times (mops, floor, mops, floor, ...)
   and shows each phase's median over the rounds, and each round's end to end: the
   machine's speed drifts, and a ratio of two single runs made minutes apart drifts with it.
5. With `--write-docs`, appends the run (machine, date, command, table) to
   docs/benchmarks.md.

rows/s is the number of input rows divided by the phase's seconds. Peak RSS is the
resident high-water mark during the phase (`VmHWM`, reset per phase), plus the peak of the
side's helper processes (mops parses a large file's phones in some; see `bench.measure`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report  # noqa: E402
from bench.generate import DATA, VERSION, data_paths  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def ensure_data(rows: int, seed: int, out: Path) -> tuple[Path, dict[str, Any]]:
    """The data set's directory and manifest; generated in a child process if missing, so
    this process stays small (a child inherits its parent's peak in `ru_maxrss`)."""
    paths = data_paths(rows, seed, out)
    if paths.manifest.is_file():
        manifest: dict[str, Any] = json.loads(paths.manifest.read_text())
        if manifest.get("version") == VERSION and paths.csv.is_file() and paths.crm.is_file():
            print(f"reusing {paths.root}")
            return paths.root, manifest
    subprocess.run([sys.executable, "-m", "bench.generate", "--rows", str(rows), "--seed",
                    str(seed), "--out", str(out), "--quiet"], cwd=ROOT, check=True)
    return paths.root, json.loads(paths.manifest.read_text())


def run_side(module: str, data: Path, work: Path, extra: list[str]) -> dict[str, Any]:
    """Run one side in a child process; return what it wrote."""
    out = work / f"{module.rsplit('.', 1)[-1]}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", module, "--data", str(data), "--work", str(work),
               "--out", str(out), *extra]
    print(f"\n$ {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    with LoadSampler() as load:
        subprocess.run(command, cwd=ROOT, check=True)
    print(f"  ({time.perf_counter() - started:.1f} s in all, with set-up and checks; "
          f"load average {load.mean:.1f} mean, {load.peak:.1f} max)")
    result: dict[str, Any] = json.loads(out.read_text())
    result["load"] = {"mean": load.mean, "max": load.peak}
    return result


class LoadSampler:
    """The 1-minute load average, sampled every few seconds while a side runs.

    The side itself accounts for about 1; much more means other work shared the CPUs.
    """

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        """Mean of the samples."""
        return sum(self.samples) / len(self.samples)

    @property
    def peak(self) -> float:
        """Highest sample."""
        return max(self.samples)


def checks(manifest: dict[str, Any], mops: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Every way the two runs fail to be correct or comparable, in words."""
    problems = []
    expected = manifest["expected"]
    for name, side in (("mops", mops), ("floor", floor)):
        counts = {k: v for k, v in side["summary"].items() if v}
        if counts != expected:
            problems.append(f"{name} plan counts {counts} != expected {expected}")
        if not side["restored"]:
            problems.append(f"{name} did not restore the CRM: {side['final_state']} != "
                            f"{manifest['initial']}")
    if mops["applied_state"] != floor["applied_state"]:
        problems.append(f"the CRM differs after apply: mops {mops['applied_state']} vs floor "
                        f"{floor['applied_state']}")
    undo_m = {k: v for k, v in mops["rollback_summary"].items() if v}
    undo_f = {k: v for k, v in floor["rollback_summary"].items() if v}
    if undo_m != undo_f:
        problems.append(f"rollback plans differ: mops {undo_m} vs floor {undo_f}")
    if not mops["ledger"]["ok"]:
        problems.append(f"the ledger does not verify: {mops['ledger']['problems']}")
    return problems


def parse_args() -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="mops batch size (MOPS_BATCH_SIZE; default 1000)")
    parser.add_argument("--helpers", type=int, default=None,
                        help="mops helper processes (MOPS_HELPERS; default one per core; 0: "
                        "mops in one process)")
    parser.add_argument("--data", type=Path, default=DATA, help="where data sets are kept")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch space for the runs (default: a new directory under "
                        "bench/data/work/, so that runs at the same time do not collide)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (the runs' stores and CRMs; GBs at 1M)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the two sides in turns this many times (mops, floor, mops, "
                        "...); the table shows each phase's median (this machine's speed "
                        "drifts by 10%% and more within an hour)")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"append the results to {report.DOCS.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def run_rounds(args: argparse.Namespace, data: Path,
               ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(mops, floor) results of each round, the two sides run in turns."""
    runs = []
    for round_ in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"\n== round {round_} of {args.rounds}")
        runs.append((
            run_side("bench.mops_side", data, args.work, [
                "--batch-size", str(args.batch_size),
                *(["--helpers", str(args.helpers)] if args.helpers is not None else [])]),
            run_side("bench.floor", data, args.work, [])))
    return runs


def summary(m: report.Side, f: report.Side, problems: list[str]) -> str:
    """What the console shows after the table."""
    lines = [f"end to end: mops {m.seconds():.1f} s, floor {f.seconds():.1f} s, ratio "
             f"{m.seconds() / f.seconds():.1f}x; peak RSS mops {m.peak():,.0f} MiB, floor "
             f"{f.peak():,.0f} MiB (whole process, with set-up and checks: mops "
             f"{m.result['max_rss_mb']:,.0f}, floor {f.result['max_rss_mb']:,.0f})"]
    if "rounds" in m.result:
        lines.append(report.rounds_line(m, f))
    lines.append(f"ledger: {m.result['ledger']['entries']:,} entries verified in "
                 f"{m.result['verify_seconds']:.1f} s; store {m.result['store_mb']:,.0f} MB")
    lines.append("checks: " + ("all passed" if not problems
                               else "\n  ".join(["FAILED", *problems])))
    return "\n".join(lines)


def main() -> int:
    """Command line."""
    args = parse_args()
    command = shlex.join(["python", "bench/upload_bench.py", *sys.argv[1:]])
    info = report.machine()  # before the run: the code the children import is this commit
    data, manifest = ensure_data(args.rows, args.seed, args.data)
    if args.work is None:
        (DATA / "work").mkdir(parents=True, exist_ok=True)
        args.work = Path(tempfile.mkdtemp(prefix="upload-", dir=DATA / "work"))
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"work directory: {args.work}" + ("" if args.keep else " (removed afterwards)"))
    runs = run_rounds(args, data)
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)
    problems = [f"round {i}: {p}" if args.rounds > 1 else p
                for i, (mops, floor) in enumerate(runs, 1) for p in checks(manifest, mops, floor)]
    m = report.Side("mops", report.median([mops for mops, _ in runs]))
    f = report.Side("floor", report.median([floor for _, floor in runs]))
    table = report.rows(m, f, args.rows)
    print(f"\n{args.rows:,} rows, seed {args.seed}\n")
    print(report.console_table(table))
    print("\n" + summary(m, f, problems))
    info["commit_after"] = report.machine()["commit"]
    if info["commit_after"] != info["commit"]:
        print(f"note: the tree moved from {info['commit']} to {info['commit_after']} "
              "during the run")
    if args.write_docs:
        report.append_docs(report.doc_section(args.rows, command, info, table, m, f,
                                              manifest, problems))
        print(f"appended to {report.DOCS}")
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main())
