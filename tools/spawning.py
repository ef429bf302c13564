"""Helper processes: how many, and starting them so that Ctrl-C stays ours to handle.

`default_helpers` is how many the embedded default uses unless `MOPS_HELPERS` says:
one per usable core, at most four. `helper_pool` makes a pool of them: spawned (never
forked from a process that may hold threads and connections), each ignoring Ctrl-C once
it runs our code (the process that started them stops them).

Helpers are spawned: a new interpreter that imports what it needs (about a second for
mops) before it runs anything of ours, such as the initializer that makes it ignore Ctrl-C.
A Ctrl-C pressed in that second reaches the whole process group and kills the helpers
mid-import, each with a traceback. So SIGINT is blocked in the thread that starts them: a
signal mask is inherited across fork and exec, and they are born with Ctrl-C held.

A Ctrl-C is sent to the whole process, and the kernel hands it to any thread not blocking
it (polars keeps threads of its own); Python then runs its handler in the main thread. So,
in the main thread, the handler is also put off for the block: a Ctrl-C pressed meanwhile
is raised as the block ends, never in the middle of starting a process (which could leave
one the pool does not know of).
"""

from __future__ import annotations

# The C functions: `signal.pthread_sigmask` and `signal.signal` run Python after the change
# is made, where a KeyboardInterrupt would skip putting things back.
import _signal  # type: ignore[import-not-found]
import math
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

_SIGINT = {signal.SIGINT}
SPAWN = multiprocessing.get_context("spawn")
MAX_DEFAULT_HELPERS = 4   # each holds ~100 MiB; one SQLite writer gains little from more


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, within its cgroup's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:    # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def default_helpers() -> int:
    """Helpers when none are configured: one per usable core (at most four), none on one."""
    cores = usable_cores()
    return min(cores, MAX_DEFAULT_HELPERS) if cores > 1 else 0


def helper_pool(processes: int, initializer: Callable[..., None] | None = None,
                initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of `processes` spawned helpers that run `initializer`, then ignore Ctrl-C.
    They start as work is submitted: submit under `ctrl_c_held`.

    Ignoring comes last because some modules catch SIGINT themselves when imported (polars
    does, in native code): `initializer` (or merely unpickling it) should import what the
    helper's work needs. Until then Ctrl-C is held back, as they are born with it blocked."""
    return ProcessPoolExecutor(processes, mp_context=SPAWN, initializer=_start_helper,
                               initargs=(initializer, initargs))


def _start_helper(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    if initializer is not None:
        initializer(*initargs)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Block SIGINT in this thread for the block (processes started in it inherit that)
    and, in the main thread, raise a Ctrl-C that came meanwhile once the block is over."""
    if not hasattr(_signal, "pthread_sigmask"):     # not on POSIX: nothing to hold
        yield
        return
    previous = _signal.pthread_sigmask(signal.SIG_BLOCK, ())      # reads the mask
    held: list[int] = []
    keep = _keep(held)
    handler: Any = None
    main = threading.current_thread() is threading.main_thread()
    try:
        _signal.pthread_sigmask(signal.SIG_BLOCK, _SIGINT)
        if main:     # from here on a Ctrl-C runs `keep`, whenever it arrived
            handler = _signal.signal(signal.SIGINT, keep)
        yield
    finally:
        try:
            if handler is not None:
                _signal.signal(signal.SIGINT, handler)
        finally:
            _signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if held and callable(handler):
        handler(signal.SIGINT, None)    # Python's default raises KeyboardInterrupt
    elif held and handler == signal.SIG_DFL:
        raise KeyboardInterrupt


def _keep(held: list[int]) -> Callable[[int, FrameType | None], None]:
    def keep(signum: int, _frame: FrameType | None) -> None:
        held.append(signum)
    return keep
