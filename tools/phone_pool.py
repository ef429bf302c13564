"""Phone numbers parsed in helper processes while the reader goes on with the file.

Parsing a phone number is the costliest step of reading a lead file (15-20 µs a number in
pure Python, `phonenumbers`), and a file's numbers rarely repeat: about half of a large
upload's planning time. On a machine with more than one core, `PhoneParser` hands each
chunk's numbers to helper processes and the reader reads and normalises the next chunks
meanwhile. The result is what parsing in-process gives (`tools.normalize.normalize_phone` is
a pure function of the value and the region), in the same order.

Helpers (`tools.spawning.helper_pool`) start with the first chunk handed over, and are
stopped by `close`. With no helpers, or if they cannot be
started or die, numbers are parsed in-process, when their chunk is finished.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from tools.normalize import normalize_phone
from tools.spawning import ctrl_c_held, default_helpers, helper_pool

PhoneKey = tuple[str, str]      # (the value as written, the region: alpha-2, "" for none)

# Files smaller than this are read without helpers: starting two costs about 1 s of CPU
# (each imports polars and `phonenumbers`), which a file of 4 MB (50,000 leads) did not
# make up for (planning 1.9 s here, 2.3 s with helpers), one of 17 MB did (7.5 → 6.3 s).
MIN_FILE_BYTES = 10_000_000


def parse_phones(keys: list[PhoneKey]) -> list[str]:
    """Each key's value in E.164 where it parses, else trimmed (`normalize_phone`)."""
    return [normalize_phone(value, region or None) for value, region in keys]


def helpers_for(path: str, processes: int | None) -> int:
    """How many helpers to read `path` with: `processes` if given, else `default_helpers`;
    none for a small file (or one that cannot be read: opening it says why)."""
    if processes is None:
        processes = default_helpers()
    try:
        small = os.path.getsize(path) < MIN_FILE_BYTES
    except OSError:
        return 0
    return 0 if small else processes


def _loaded() -> None:
    """Nothing: a helper unpickling this imports this module, and with it what parsing
    needs (polars among it, which catches SIGINT itself), before it ignores Ctrl-C."""


class PendingPhones:
    """The parse of one chunk's distinct numbers, in a helper or still to be done here."""

    def __init__(self, keys: list[PhoneKey], future: Future[list[str]] | None) -> None:
        self.keys = keys
        self._future = future

    def result(self) -> list[str]:
        """Each key's parsed value, in order (waits for the helper)."""
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenProcessPool:     # a helper died (killed, out of memory): redo here
                pass
        return parse_phones(self.keys)


class PhoneParser:
    """Hands chunks of phone numbers to `processes` helper processes (0: parse in-process).

    `ahead` is how many chunks a reader should start before finishing the oldest: enough to
    keep every helper busy.
    """

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self.ahead = 2 * processes
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, keys: list[PhoneKey]) -> PendingPhones:
        """Start parsing `keys` (in a helper, if there are any)."""
        if not self.processes or not keys:
            return PendingPhones(keys, None)
        try:
            if self._pool is None:
                self._pool = helper_pool(self.processes, _loaded)
            with ctrl_c_held():      # a submit may start a helper
                return PendingPhones(keys, self._pool.submit(parse_phones, keys))
        except (BrokenProcessPool, OSError, AssertionError):
            # AssertionError: a daemonic process (a pool's worker) may not start processes.
            self.processes, self.ahead = 0, 0
            return PendingPhones(keys, None)

    def close(self) -> None:
        """Stop the helpers (the chunks not yet parsed are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
