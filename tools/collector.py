"""Pausing Python's cyclic garbage collector around one chunk of bulk work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while one chunk of work runs.

    A chunk (a thousand rows read, changes planned, records compared) allocates tens of
    thousands of container objects and frees few, so the collector would run every ~700 of
    them and re-scan the young ones each time (measured: 10-20% of the time). Pausing only
    postpones: the collector is switched back on (if it was on) when the chunk is done, and
    catches up then, so memory stays bounded by one chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
