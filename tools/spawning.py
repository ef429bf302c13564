"""Starting helper processes without a Ctrl-C killing them halfway through their start.

Helpers are spawned: a new interpreter that imports what it needs (about a second for
mops) before it runs anything of ours, such as the initializer that makes it ignore Ctrl-C.
A Ctrl-C pressed in that second reaches the whole process group and kills the helpers
mid-import, each with a traceback. Holding SIGINT back (blocking it) while they are
started fixes that: a signal mask is inherited across fork and exec, so they are born with
Ctrl-C held; the process that starts them gets a Ctrl-C pressed meanwhile as soon as it
lets go (a blocked signal waits, it is not lost).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Block SIGINT in this thread for the block (processes started in it inherit that)."""
    if not hasattr(signal, "pthread_sigmask"):     # not on POSIX: nothing to hold
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
