"""Summarise a py-spy profile of the mops side: where each phase spends its time.

Record one (wall-clock, so time waiting on SQLite's I/O counts too), then summarise:

    py-spy record --idle --format raw -r 50 -o mops.raw -- \\
        python -m bench.mops_side --data bench/data/leads-200000-s7 --work /tmp/w --out /tmp/r.json
    python -m bench.hotspots mops.raw [--top 15]

Samples are split by the line of `bench/mops_side.py` they ran under (one per phase).
"Self" is time spent in a function's own code; "total" is time with it on the stack.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")
_SIDE = Path(__file__).with_name("mops_side.py")
_OURS = ("agents/", "approvals/", "tasks/", "tools/", "mops/")


def _frames(stack: str) -> list[tuple[str, str, str]]:
    """(function, file, line) of each frame, outermost first."""
    out = []
    for text in stack.split(";"):
        m = _FRAME.match(text)
        out.append((m["func"], m["file"], m["line"] or "") if m else (text, "", ""))
    return out


def _short(file: str) -> str:
    """A path shortened to the package it belongs to."""
    for marker in ("site-packages/", "lib/python3.11/", *_OURS, "bench/"):
        at = file.find(marker)
        if at >= 0:
            return file[at + len(marker):] if marker.endswith("s/") or "python" in marker \
                else file[at:]
    return file


def summarise(raw: Path, top: int) -> str:
    """The report: per phase, top functions by self time and by total time."""
    side_lines = _SIDE.read_text().splitlines()
    per_phase: dict[str, Counter[str]] = defaultdict(Counter)
    self_time: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = _frames(stack)
        phase = "outside the phases"
        for func, file, number in frames:
            if file.endswith("mops_side.py") and func == "run" and number:
                phase = side_lines[int(number) - 1].strip()
        totals[phase] += count
        func, file, _ = frames[-1]
        self_time[phase][f"{_short(file)}:{func}"] += count
        seen = {f"{_short(file)}:{func}" for func, file, _ in frames
                if any(m in file for m in _OURS)}
        for name in seen:
            per_phase[phase][name] += count
    all_samples = sum(totals.values())
    out = [f"{all_samples} samples"]
    for phase, n in totals.most_common():
        out.append(f"\n== {phase}: {n} samples ({n / all_samples:.0%} of all)")
        out.append("  self time (leaf frame):")
        out += [f"    {c / n:6.1%}  {name}" for name, c in self_time[phase].most_common(top)]
        out.append("  total time (our functions on the stack):")
        out += [f"    {c / n:6.1%}  {name}" for name, c in per_phase[phase].most_common(top)]
    return "\n".join(out)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy --format raw output")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(summarise(args.raw, args.top))


if __name__ == "__main__":
    main()
