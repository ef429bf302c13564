"""Fakes of outside systems, shipped with the code so tests and benchmarks run without them.

- `RatelimitedTarget`: an HTTP server with a rate limit of its own that records every
  arrival, to measure (not assume) that callers keep to a limit.
"""

from tools.fakes.ratelimited_target import RatelimitedTarget, max_in_window

__all__ = ["RatelimitedTarget", "max_in_window"]
