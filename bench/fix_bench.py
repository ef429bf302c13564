"""UTM fix and backfill benchmarks: mops end to end against a floor script, N rows each.

    python bench/fix_bench.py --rows 1000000 [--seed 7] [--write-docs] [--only links|backfill]

1. Generates, or reuses, the data sets for `--rows` and `--seed` (`bench.fix_generate`,
   under bench/data/, git-ignored): a links CSV with a UTM taxonomy, and a sandbox CRM of
   contacts, about half without a country and with an international phone.
2. For each job kind, runs each side in its own process (so each one's peak memory is its
   own), on its own copy of the target:
   - mops (`bench.fix_mops_side`): plan as alice, approve as bob (which applies), plan the
     rollback, approve it, through `Jobs` with the embedded defaults;
   - the floor (`bench.fix_floor`): the same work as one direct script, calling the same
     pure function per row (`fix_url`, `country_from_phone`); the rest is the framework's.
   - links: `UtmFixParams(links=…, taxonomy=…)`, a fixed copy written beside; backfill:
     `BackfillParams(field="country", derive="country_from_phone")`, in place.
3. Checks that both plans count what the generator expects, that both sides leave the
   target in the same state after applying (the same bytes of the fixed copy; the same CRM
   checksum), that both restore it exactly (the copy equals the input; the CRM its initial
   state), that both rollbacks restore as many rows, and that mops's ledger verifies;
   prints seconds, rows/s and peak RSS per phase, and the mops/floor ratio.
4. With `--write-docs`, appends the run (machine, date, command, tables) to
   docs/benchmarks.md.

rows/s is the number of input rows (links, contacts) divided by the phase's seconds. For
a profile of the mops side, run it alone:

    python -m bench.fix_mops_side --kind links --data bench/data/fix-links-100000-s7 \\
        --work /tmp/w --out /tmp/r.json --profile /tmp/links.prof
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report  # noqa: E402
from bench.fix_generate import VERSION, data_dir  # noqa: E402
from bench.generate import DATA  # noqa: E402
from bench.upload_bench import run_side  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("links", "backfill")
TITLES = {"links": "UTM fix of links", "backfill": "backfill of contacts (country from phone)"}


def ensure_data(kind: str, rows: int, seed: int, out: Path) -> tuple[Path, dict[str, Any]]:
    """The data set's directory and manifest; generated in a child process if missing, so
    this process stays small."""
    root = data_dir(kind, rows, seed, out)
    manifest = root / "manifest.json"
    if manifest.is_file():
        found: dict[str, Any] = json.loads(manifest.read_text())
        if found.get("version") == VERSION:
            print(f"reusing {root}")
            return root, found
    subprocess.run([sys.executable, "-m", "bench.fix_generate", "--kind", kind, "--rows",
                    str(rows), "--seed", str(seed), "--out", str(out), "--quiet"],
                   cwd=ROOT, check=True)
    return root, json.loads(manifest.read_text())


def checks(manifest: dict[str, Any], mops: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """Every way the two runs fail to be correct or comparable, in words."""
    problems = []
    expected = manifest["expected"]
    for name, side in (("mops", mops), ("floor", floor)):
        counts = {k: v for k, v in side["summary"].items() if v}
        if counts != expected:
            problems.append(f"{name} plan counts {counts} != expected {expected}")
        undo = {k: v for k, v in side["rollback_summary"].items() if v}
        if undo != {"update": expected["update"]}:
            problems.append(f"{name} rollback plan {undo} != {expected['update']} updates")
        if not side["restored"]:
            problems.append(f"{name} did not restore the target: {side['final_state']} != "
                            f"{manifest['initial']}")
    if mops["applied_state"] != floor["applied_state"]:
        problems.append(f"the target differs after apply: mops {mops['applied_state']} vs "
                        f"floor {floor['applied_state']}")
    if not mops["ledger"]["ok"]:
        problems.append(f"the ledger does not verify: {mops['ledger']['problems']}")
    return problems


def run_kind(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Generate or reuse the data, run both sides, check them; the results."""
    data, manifest = ensure_data(kind, args.rows, args.seed, args.data)
    work = args.work / kind
    work.mkdir(parents=True, exist_ok=True)
    extra = ["--kind", kind]
    mops = run_side("bench.fix_mops_side", data, work,
                    [*extra, "--batch-size", str(args.batch_size)])
    floor = run_side("bench.fix_floor", data, work, extra)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"kind": kind, "manifest": manifest, "mops": mops, "floor": floor,
            "problems": checks(manifest, mops, floor)}


def summary_lines(run: dict[str, Any], n: int) -> list[str]:
    """The lines under a kind's table: input, end to end, checks, ledger, load."""
    m, f = report.Side("mops", run["mops"]), report.Side("floor", run["floor"])
    manifest, mops, floor = run["manifest"], run["mops"], run["floor"]
    expected = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in manifest["expected"].items())
    verdict = "all passed" if not run["problems"] else "FAILED: " + "; ".join(run["problems"])
    store = f"store {mops['store_mb']:,.0f} MB"
    if mops.get("cell_store_mb"):
        store += f", cell store of the fixed copy {mops['cell_store_mb']:,.0f} MB"
    return [
        f"input: {n:,} rows → {expected}",
        f"end to end: mops {m.seconds():.1f} s, floor {f.seconds():.1f} s, "
        f"**ratio {m.seconds() / f.seconds():.1f}×**; peak RSS mops {m.peak():,.0f} MiB, "
        f"floor {f.peak():,.0f} MiB",
        *_cpu(mops, floor),
        f"checks (plan counts, same target after apply, target restored, rollback counts, "
        f"ledger verifies): {verdict}",
        f"mops ledger: {mops['ledger']['entries']:,} entries verified in "
        f"{mops['verify_seconds']:.1f} s (not in the table); {store}",
        f"load average while each side ran (the side itself is ~1): mops {_load(mops)}, "
        f"floor {_load(floor)}",
    ]


def _cpu(mops: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """CPU seconds end to end, where the sides measured them (less sensitive to a busy
    machine than wall time)."""
    cpu = [sum(p.get("cpu_seconds", 0.0) for p in side["phases"]) for side in (mops, floor)]
    if not all(cpu):
        return []
    return [f"CPU time end to end: mops {cpu[0]:.1f} s, floor {cpu[1]:.1f} s, ratio "
            f"{cpu[0] / cpu[1]:.1f}×"]


def _load(side: dict[str, Any]) -> str:
    load = side.get("load")
    return "not sampled" if not load else f"{load['mean']:.1f} mean, {load['max']:.1f} max"


def doc_section(n: int, command: str, info: dict[str, str], runs: list[dict[str, Any]]) -> str:
    """The run as a Markdown section: machine, then a table per kind."""
    after = info.get("commit_after", info["commit"])
    moved = f", `{after}` at the end" if after != info["commit"] else ""
    lines = [
        f"### UTM fix and backfill, {n:,} rows — {info['date']}",
        "",
        f"- command: `{command}`",
        f"- machine: {info['cpus']}; RAM {info['ram']}; {info['os']}",
        f"- software: Python {info['python']}, polars {info['polars']}, SQLite "
        f"{info['sqlite']}; commit `{info['commit']}` at the start{moved} (`-dirty`: "
        "uncommitted edits of other engineers in the tree)",
        "- floor: the same pure function per row (`fix_url`, `country_from_phone`) in one "
        "direct script (polars / sqlite3, a rollback log in its own SQLite file); the "
        "difference is the framework's share (`bench/fix_floor.py`)",
    ]
    for run in runs:
        m, f = report.Side("mops", run["mops"]), report.Side("floor", run["floor"])
        lines += ["", f"#### {TITLES[run['kind']]}", ""]
        lines += [f"- {line}" for line in summary_lines(run, n)]
        lines += ["", report.markdown_table(report.rows(m, f, n))]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=KINDS, help="run one job kind only")
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="mops batch size (MOPS_BATCH_SIZE; default 1000)")
    parser.add_argument("--data", type=Path, default=DATA, help="where data sets are kept")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch space for the runs (default: a new directory under "
                        "bench/data/work/)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"append the results to {report.DOCS.relative_to(ROOT)}")
    args = parser.parse_args()
    command = shlex.join(["python", "bench/fix_bench.py", *sys.argv[1:]])

    info = report.machine()  # before the run: the code the children import is this commit
    if args.work is None:
        (DATA / "work").mkdir(parents=True, exist_ok=True)
        args.work = Path(tempfile.mkdtemp(prefix="fix-", dir=DATA / "work"))
    print(f"work directory: {args.work}" + ("" if args.keep else " (removed afterwards)"))
    runs = [run_kind(kind, args) for kind in ([args.only] if args.only else KINDS)]
    if not args.keep:
        shutil.rmtree(args.work, ignore_errors=True)

    print(f"\n{args.rows:,} rows, seed {args.seed}")
    for run in runs:
        m, f = report.Side("mops", run["mops"]), report.Side("floor", run["floor"])
        print(f"\n{TITLES[run['kind']]}\n")
        print(report.console_table(report.rows(m, f, args.rows)))
        for line in summary_lines(run, args.rows):
            print(line.replace("**", ""))
    info["commit_after"] = report.machine()["commit"]
    if info["commit_after"] != info["commit"]:
        print(f"note: the tree moved from {info['commit']} to {info['commit_after']} "
              "during the run")
    if args.write_docs:
        report.append_docs(doc_section(args.rows, command, info, runs))
        print(f"appended to {report.DOCS}")
    return 1 if any(run["problems"] for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
