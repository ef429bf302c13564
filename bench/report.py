"""The results table (console and Markdown), the machine it ran on, and docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
DOC_HEADER = """# Benchmarks

Measured numbers only; each run below was appended by `bench/upload_bench.py --write-docs`.
See the top of `bench/upload_bench.py` for what is measured and how.

## Runs
"""


@dataclass(frozen=True)
class Side:
    """One side's result file, as written by `bench.measure.Phases.write`."""

    name: str
    result: dict[str, Any]

    def seconds(self, phase: str | None = None) -> float:
        """Seconds of one phase, or of all of them (end to end)."""
        return sum(p["seconds"] for p in self.result["phases"]
                   if phase is None or p["phase"] == phase)

    def peak(self, phase: str | None = None) -> float:
        """Peak RSS (MiB) of one phase, or the highest over all phases."""
        return max(p["peak_rss_mb"] for p in self.result["phases"]
                   if phase is None or p["phase"] == phase)

    @property
    def phase_names(self) -> list[str]:
        """The phases in the order they ran."""
        return [p["phase"] for p in self.result["phases"]]


def median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's result over several rounds: per phase, the median of the seconds (wall and
    CPU) and the highest peak; the rest (ledger, store, checks' states) from the round whose
    end to end is the median; `rounds` lists each round's end to end. One round is itself."""
    if len(results) == 1:
        return results[0]

    def total(result: dict[str, Any]) -> float:
        return float(sum(p["seconds"] for p in result["phases"]))

    phases = []
    for phase in results[0]["phases"]:
        same = [next(p for p in r["phases"] if p["phase"] == phase["phase"]) for r in results]
        phases.append({
            "phase": phase["phase"],
            "seconds": statistics.median(p["seconds"] for p in same),
            "cpu_seconds": statistics.median(p["cpu_seconds"] for p in same),
            "peak_rss_mb": max(p["peak_rss_mb"] for p in same)})
    middle = sorted(results, key=total)[len(results) // 2]
    loads = [r["load"] for r in results if r.get("load")]
    load = {"mean": statistics.fmean(x["mean"] for x in loads),
            "max": max(x["max"] for x in loads)} if loads else None
    return {**middle, "phases": phases, "rounds": [total(r) for r in results], "load": load,
            "max_rss_mb": max(r["max_rss_mb"] for r in results)}


def rounds_line(mops: Side, floor: Side) -> str:
    """Each round's end to end, and its ratio, as one line."""
    pairs = zip(mops.result["rounds"], floor.result["rounds"], strict=True)
    return "rounds, in turns (mops / floor = ratio): " + "; ".join(
        f"{m:.1f} / {f:.1f} s = {m / f:.2f}×" for m, f in pairs)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    except OSError:
        pass
    import polars as pl

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": f"{len(os.sched_getaffinity(0))} (nproc), {cpu}",
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "sqlite": sqlite3.sqlite_version,
        "commit": _git("describe", "--always", "--dirty"),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def rows(mops: Side, floor: Side, n: int) -> list[list[str]]:
    """The table's rows: per phase, then end to end, then peak memory."""
    out = []
    for name in [*mops.phase_names, None]:
        m, f = mops.seconds(name), floor.seconds(name)
        out.append([name or "**end to end**", f"{m:.2f}", f"{n / m:,.0f}",
                    f"{mops.peak(name):,.0f}", f"{f:.2f}", f"{n / f:,.0f}",
                    f"{floor.peak(name):,.0f}", f"{m / f:.1f}×"])
    return out


HEAD = ["phase", "mops s", "mops rows/s", "mops peak MiB", "floor s", "floor rows/s",
        "floor peak MiB", "mops/floor"]


def console_table(table: list[list[str]]) -> str:
    """The table aligned for a terminal."""
    cells = [HEAD, *[[c.replace("**", "") for c in row] for row in table]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEAD))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def markdown_table(table: list[list[str]]) -> str:
    """The table in Markdown."""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join(
        ["---"] + ["---:"] * (len(HEAD) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines)


def doc_section(n: int, command: str, info: dict[str, str], table: list[list[str]],
                mops: Side, floor: Side, manifest: dict[str, Any], checks: list[str],
                ) -> str:
    """One run as a Markdown section."""
    expected = manifest["expected"]
    verdict = "all passed" if not checks else "FAILED: " + "; ".join(checks)
    ratio = mops.seconds() / floor.seconds()
    after = info.get("commit_after", info["commit"])
    moved = f", `{after}` at the end" if after != info["commit"] else ""
    cpus = len(os.sched_getaffinity(0))
    lines = [
        f"### {n:,} rows — {info['date']}",
        "",
        f"- command: `{command}`",
        f"- machine: {info['cpus']}; RAM {info['ram']}; {info['os']}",
        f"- software: Python {info['python']}, polars {info['polars']}, SQLite "
        f"{info['sqlite']}; commit `{info['commit']}` at the start{moved} (`-dirty`: "
        "uncommitted edits of other engineers in the tree)",
        f"- input: {n:,} rows ({manifest['lines']:,} lines) → {expected['create']:,} creates, "
        f"{expected['update']:,} updates, {expected['unchanged']:,} unchanged, "
        f"{expected['add_member']:,} memberships, {expected['rejected']:,} rejected, "
        f"{expected['duplicate']:,} duplicates; CRM {manifest['initial']['contacts']:,} "
        "contacts",
        *([f"- {len(mops.result['rounds'])} rounds, each side's phases shown as their median: "
           + rounds_line(mops, floor)] if "rounds" in mops.result else []),
        f"- end to end: mops {mops.seconds():.1f} s, floor {floor.seconds():.1f} s, "
        f"**ratio {ratio:.1f}×** (target ≤ 2×); peak RSS mops {mops.peak():,.0f} MiB, floor "
        f"{floor.peak():,.0f} MiB (target < 1.5 GB)",
        f"- checks (plan counts, same CRM after apply, CRM restored, ledger verifies): {verdict}",
        f"- load average during the run (a side is about 1 of the {cpus} CPUs, mops with "
        f"its helpers up to all of them; more means other work shared the machine): "
        f"mops {_load(mops)}, floor {_load(floor)}",
        f"- mops store after the run: {mops.result.get('store_mb', 0):,.0f} MB; ledger "
        f"verification {mops.result.get('verify_seconds', 0):.1f} s (not in the table)",
        "",
        markdown_table(table),
        "",
    ]
    return "\n".join(lines)


def _load(side: Side) -> str:
    load = side.result.get("load")
    return "not sampled" if not load else f"{load['mean']:.1f} mean, {load['max']:.1f} max"


def append_docs(section: str, path: Path = DOCS) -> None:
    """Append a run to docs/benchmarks.md, creating it with its header if missing."""
    if not path.exists():
        path.write_text(DOC_HEADER)
    text = path.read_text()
    path.write_text(text.rstrip("\n") + "\n\n" + section)
