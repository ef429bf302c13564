"""Timing and peak memory of the phases of one benchmark process.

Peak memory is the resident set's high-water mark (`VmHWM` in /proc/self/status), reset
at the start of every phase by writing "5" to /proc/self/clear_refs (Linux), so each phase
reports its own peak; the process's own lifetime peak is the highest of those marks.

`ru_maxrss` is not used for the per-side peak: Linux carries it across fork and exec, so a
child starts with its parent's peak (a parent that generated the data would show up in
it). It is reported as `ru_maxrss_mb`, for the record.
"""

from __future__ import annotations

import gc
import json
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def rss_mb(field: str = "VmRSS") -> float | None:
    """A memory figure of this process from /proc/self/status, in MiB (None if unknown)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS; False where Linux does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def max_rss_mb() -> float:
    """The peak RSS over the life of this process (`ru_maxrss`, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Phases:
    """Records seconds and peak RSS per named phase; writes them as JSON for the parent."""

    def __init__(self) -> None:
        self.phases: list[dict[str, Any]] = []
        self.extra: dict[str, Any] = {"baseline_rss_mb": rss_mb()}
        self.lifetime_peak = rss_mb("VmHWM") or 0.0

    def _fold_peak(self) -> None:
        """Keep the high-water mark so far before it is reset."""
        self.lifetime_peak = max(self.lifetime_peak, rss_mb("VmHWM") or 0.0)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block and measure its peak RSS."""
        gc.collect()
        self._fold_peak()
        resettable = reset_peak()
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            peak = (rss_mb("VmHWM") or 0.0) if resettable else max_rss_mb()
            self._fold_peak()
            self.phases.append({"phase": name, "seconds": seconds, "cpu_seconds": cpu,
                                "peak_rss_mb": peak})
            # CPU time is this process's own: less swayed than wall time by other work
            # on the machine, but blind to time spent waiting on the disk.
            print(f"  {name}: {seconds:.2f} s (CPU {cpu:.2f} s), peak RSS {peak:.0f} MiB",
                  flush=True)

    def write(self, out: Path, **result: Any) -> None:
        """Write the phases, `result` and the process's lifetime peak RSS to `out`."""
        self._fold_peak()
        payload = {"phases": self.phases, **self.extra, **result,
                   "max_rss_mb": self.lifetime_peak, "ru_maxrss_mb": max_rss_mb()}
        out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
