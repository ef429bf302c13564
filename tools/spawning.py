"""Starting helper processes without a Ctrl-C killing them halfway through their start.

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
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_SIGINT = {signal.SIGINT}


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
