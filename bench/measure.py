"""Timing and peak memory of the phases of one benchmark process.

Peak memory is the resident set's high-water mark (`VmHWM` in /proc/self/status), reset
at the start of every phase by writing "5" to /proc/self/clear_refs (Linux), so each phase
reports its own peak; the process's own lifetime peak is the highest of those marks.

Helper processes a side starts (mops parses phones and runs batches in some) count too: a
thread samples the resident sets of the process's children every 50 ms during a phase, and
the phase's peak is the process's own peak plus the highest sum of its children's (an upper
bound: the two need not peak at the same moment).

`ru_maxrss` is not used for the per-side peak: Linux carries it across fork and exec, so a
child starts with its parent's peak (a parent that generated the data would show up in
it). It is reported as `ru_maxrss_mb`, for the record.
"""

from __future__ import annotations

import gc
import json
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_TASKS = Path("/proc/self/task")


def rss_mb(field: str = "VmRSS", status: Path = _STATUS) -> float | None:
    """A memory figure of this process (or the one whose `status` file is given) from
    /proc/PID/status, in MiB (None if unknown)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children_rss_mb() -> float:
    """The resident sets of this process's children, summed, in MiB."""
    total = 0.0
    for children in _TASKS.glob("*/children"):
        try:
            pids = children.read_text().split()
        except OSError:        # the thread ended
            continue
        for pid in pids:
            if not _resource_tracker(pid):
                total += rss_mb(status=Path("/proc", pid, "status")) or 0.0
    return total


def _resource_tracker(pid: str) -> bool:
    """Whether `pid` is multiprocessing's resource tracker (~15 MiB, started with the first
    helpers, kept to the end): the helpers' bookkeeping, not their work."""
    try:
        return b"resource_tracker" in Path("/proc", pid, "cmdline").read_bytes()
    except OSError:
        return False


class _ChildrenPeak(threading.Thread):
    """Samples `children_rss_mb` until stopped; `peak` is the highest sample."""

    def __init__(self, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.every, self.peak = every, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.peak = max(self.peak, children_rss_mb())
            if self._stop_event.wait(self.every):
                return

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak


def reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS; False where Linux does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (and been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
        children = _ChildrenPeak()
        children.start()
        started, cpu_started = time.perf_counter(), time.process_time()
        helpers_cpu = _children_cpu()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            helpers_cpu = _children_cpu() - helpers_cpu
            helpers = children.stop()
            own = (rss_mb("VmHWM") or 0.0) if resettable else max_rss_mb()
            peak = own + helpers
            self._fold_peak()
            self.lifetime_peak = max(self.lifetime_peak, peak)
            self.phases.append({"phase": name, "seconds": seconds, "cpu_seconds": cpu,
                                "peak_rss_mb": peak, "helpers_peak_rss_mb": helpers,
                                "helpers_cpu_seconds": helpers_cpu})
            # CPU time is this process's own: less swayed than wall time by other work
            # on the machine, but blind to time spent waiting on the disk.
            shown = (f", helpers' CPU {helpers_cpu:.2f} s and peak RSS {helpers:.0f} MiB"
                     if helpers or helpers_cpu else "")
            print(f"  {name}: {seconds:.2f} s (CPU {cpu:.2f} s), peak RSS {peak:.0f} MiB"
                  f"{shown}", flush=True)

    def write(self, out: Path, **result: Any) -> None:
        """Write the phases, `result` and the process's lifetime peak RSS to `out`."""
        self._fold_peak()
        payload = {"phases": self.phases, **self.extra, **result,
                   "max_rss_mb": self.lifetime_peak, "ru_maxrss_mb": max_rss_mb()}
        out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
