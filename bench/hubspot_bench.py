"""Sustained throughput of the HubSpot adapter against its fake, under HubSpot's limit.

    python bench/hubspot_bench.py [--records 50000] [--limit 100] [--window 2.0] [--write-docs]

The fake HubSpot (`tools.fakes.hubspot`, requests checked against HubSpot's OpenAPI specs
when `../shared/specs` has them) allows `--limit` requests per `--window` seconds: HubSpot's
100 per 10 s with the window scaled down 5×, so a run is short. `--records` contacts are
created through `HubSpotCRM.create_contacts`, 100 records a call (one batch create each), by
one worker process, then (a fresh fake each run) by two processes each taking half the keys;
every worker holds a `RedisLimiter` on one shared key (database 15 of 127.0.0.1:6379, a key
of its own per run) set to exactly the fake's limit, with no margin: each request is held on
the limiter's books from its grant until its answer (`tools.ratelimit`, "Held requests"), so
no spread in the delay from grant to arrival can put more than the limit in a window. Each
worker count runs without faults, then with `--fault-rate` of requests failing (a seeded mix
of 429, 503 and connections dropped after the write) once with a short retry backoff and
once with production's scaled down.

Reported per run: seconds (first worker's start to last worker's end) and records/s over
the whole run; the sustained rate and its ratio to the ceiling (100 records a request ×
limit ÷ window); requests per batch of 100; the most requests that reached the fake in any
closed window of `--window` seconds, counting as the fake counts (every arrival but those
answered 429, which the fake refused uncounted, and which the adapter's limiter gives back;
503s and dropped connections count), which must be ≤ `--limit`, and, beside it, every arrival
429s included; the delay from each grant to its arrival; the fake's own 429s; the faults
injected; where the workers' time went (blocked in the limiter, asleep between retries, the
rest); and whether every record is in the fake exactly once with its values. The records
are generated in the workers at run time; nothing is saved.

Sustained, not whole-run: an empty sliding-window limiter lets a full window through at
once, so a whole-run rate flatters short runs; see `sustained`.

Time scale: the waits that are HubSpot-sized are scaled with the window: production's
retry backoff (0.5 s first wait, 0.5 s jitter, 30 s cap) and the injected 429's Retry-After
(whole seconds only: 0, so the backoff applies). The window is scaled 5×, not more: at
100 requests per second one worker's own CPU time per batch (about 10 ms, most of it the
fake's: spec check, JSON, HTTP; one process each on 2 CPUs) would be the limit, not HubSpot's.

The fake's process pauses its cyclic GC during a run (unless `--fake-gc`): a full
collection over tens of thousands of contacts stalls the fake's one event loop (47–106 ms
measured), which slows every worker waiting on it. That is the fake's artefact, not
HubSpot's or the adapter's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench import report  # noqa: E402
from bench.hubspot_worker import BATCH, GRANTED, key  # noqa: E402
from tools.fakes.hubspot import HubSpotState, Limits, hubspot_app  # noqa: E402
from tools.fakes.ratelimited_target import max_in_window  # noqa: E402
from tools.fakes.server import (  # noqa: E402
    ASGIApp,
    FakeServer,
    Faults,
    Message,
    Receive,
    Scope,
    Send,
)
from tools.fakes.server import with_faults as faulty  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT.parent / "shared" / "specs"
TOKEN = "pat-na1-bench0000-0000-0000-0000-000000000000"
REDIS_URL = "redis://127.0.0.1:6379/15"
FAULT_KINDS = ("429", "503", "drop")
HUBSPOT_WINDOW = 10.0


class Arrivals:
    """An ASGI wrapper noting when each HTTP request reaches the target (`time.monotonic`),
    how long after its grant (the worker's `GRANTED` header; one clock per machine), and the
    status it was answered with (0 if the answer never started: a dropped connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.times: list[float] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        self.times.append(now)   # one event loop: appended in order
        self.statuses.append(0)
        index = len(self.statuses) - 1
        for name, value in scope["headers"]:
            if name == GRANTED.encode():
                self.delays.append(now - float(value))

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses[index] = int(message["status"])
            await send(message)

        await self.app(scope, receive, noting)

    def counted(self) -> list[float]:
        """The arrivals a target counts against its limit: all but those it refused (429)."""
        return [t for t, status in zip(self.times, self.statuses, strict=True)
                if status != 429]


@dataclass(frozen=True)
class Backoff:
    """A retry policy's waits: the first backoff, its jitter, the cap."""

    name: str
    initial: float
    jitter: float
    max_wait: float

    def describe(self) -> str:
        """As table text."""
        return f"{self.name}: {self.initial:g} s + ≤{self.jitter:g} s, ×2"


@dataclass(frozen=True)
class Setup:
    """What every run shares: the limit, the limiter, the faults, the fake."""

    records: int
    limit: int
    window: float
    margin: float
    fault_retry_after: int
    seed: int
    specs: Path | None
    fake_gc: bool

    @property
    def ceiling(self) -> float:
        """Records/s if every request allowed carried a full batch."""
        return BATCH * self.limit / self.window


def run(setup: Setup, workers: int, fault_rate: float, backoff: Backoff) -> dict[str, Any]:
    """One run on a fresh fake: the workers create every record; the measurements."""
    state = HubSpotState(tokens=[TOKEN], limits=Limits(per_window=setup.limit,
                                                       window_seconds=setup.window))
    faults = Faults(retry_after=setup.fault_retry_after, seed=setup.seed)
    faults.set(fault_rate, FAULT_KINDS)
    arrivals = Arrivals(faulty(hubspot_app(state, setup.specs), faults))
    target = f"bench-hubspot-{uuid.uuid4().hex[:12]}"
    with FakeServer(arrivals) as server, _gc_paused(not setup.fake_gc):
        reports = _run_workers(setup, backoff, server.url, target, workers)
    redis.Redis.from_url(REDIS_URL).delete(f"mops:ratelimit:{target}")
    began, ended = min(r["started"] for r in reports), max(r["ended"] for r in reports)
    busy = sum(r["ended"] - r["started"] for r in reports)
    times = arrivals.counted()
    per_request = setup.records / len(times)
    return {
        "workers": workers, "fault_rate": fault_rate, "backoff": backoff.describe(),
        "seconds": ended - began,
        "records_per_s": setup.records / (ended - began),
        "sustained_per_s": sustained(times, setup.limit) * per_request,
        "sustained_requests_per_s": sustained(times, setup.limit),
        "requests": len(times), "arrivals": len(arrivals.times),
        "grants": sum(r["grants"] for r in reports),
        "max_in_window": max_in_window(times, setup.window),
        "max_arrivals_in_window": max_in_window(arrivals.times, setup.window),
        "delay_ms": _spread(arrivals.delays),
        "fake_429": state.refusals.get("TEN_SECONDLY_ROLLING", 0),
        "injected": dict(faults.injected),
        "retries": sum(r["retries"] for r in reports),
        "retry_reasons": dict(sum((Counter(r["retry_reasons"]) for r in reports), Counter())),
        "limiter_share": sum(r["limiter_seconds"] for r in reports) / busy,
        "retry_share": sum(r["retry_seconds"] for r in reports) / busy,
        "failed": sum(r["failed"] for r in reports),
        "failures": [f for r in reports for f in r["failures"]][:5],
        "exactly_once": exactly_once(state, setup.records),
        "load": os.getloadavg()[0],
        "violations": len(state.violations),
    }


def sustained(times: list[float], limit: int) -> float:
    """Requests/s at the target once the first window's burst is spent, over whole periods.

    An empty sliding-window limiter lets `limit` requests through at once, then paces them
    in bursts: each request waits for the one `limit` places before it to leave the window.
    So the rate is measured from arrival `limit` (the first one held back) over a whole
    number of `limit`-request periods, which the bursts do not distort.
    """
    periods = (len(times) - 1 - limit) // limit
    if periods < 1:
        raise ValueError(f"too few requests ({len(times)}) to measure: give more records")
    first = limit
    return periods * limit / (times[first + periods * limit] - times[first])


def _spread(delays: list[float]) -> dict[str, float]:
    """Grant-to-arrival delays in ms: least, median, 99th percentile, most."""
    d = sorted(delays)
    return {name: round(d[int(q * (len(d) - 1))] * 1000, 1)
            for name, q in (("min", 0), ("p50", 0.5), ("p99", 0.99), ("max", 1))}


@contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """This process's cyclic garbage collector off, if `pause`: the fake serves from a
    thread here, and a full collection over its contacts stalls it for tens of ms, so that
    requests sent on time reach it late and bunched (a fake's artefact, not HubSpot's)."""
    if not pause:
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _run_workers(setup: Setup, backoff: Backoff, url: str, target: str, n: int,
                 ) -> list[dict[str, Any]]:
    """Start `n` workers on consecutive shares of the keys, start them together, collect."""
    procs = []
    for i in range(n):
        spec = {"url": url, "token": TOKEN, "redis_url": REDIS_URL, "target": target,
                "first": setup.records * i // n, "last": setup.records * (i + 1) // n,
                "limit": setup.limit, "window": setup.window, "margin": setup.margin,
                "retry_initial": backoff.initial, "retry_jitter": backoff.jitter,
                "retry_max_wait": backoff.max_wait}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bench.hubspot_worker", json.dumps(spec)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a worker did not start; see its error above")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return [json.loads(proc.communicate(timeout=600)[0]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def exactly_once(state: HubSpotState, records: int) -> bool:
    """Whether the fake holds every record once, with the values the worker sent."""
    with state.lock:
        seen = Counter(c.properties.get("email", "") for c in state.contacts.values())
        firstnames = {c.properties.get("email"): c.properties.get("firstname")
                      for c in state.contacts.values()}
    wanted = {key(n): f"Lead{n}" for n in range(records)}
    return (len(seen) == records and max(seen.values(), default=0) == 1
            and firstnames == wanted)


HEAD = ["workers", "faults", "retry backoff", "s", "records/s, whole run",
        "sustained records/s", "ceiling records/s", "ratio", "requests/batch",
        "sustained requests/s ÷ limit", "max in any window: counted (≤ limit) / all",
        "grant → arrival ms, p99 / max", "fake's 429s", "injected 429/503/drop", "retries",
        "time: limiter / retry sleep / other", "exactly once", "load (1 min)"]


def row(setup: Setup, r: dict[str, Any]) -> list[str]:
    """One run as table cells."""
    inj = r["injected"]
    other = 1 - r["limiter_share"] - r["retry_share"]
    once = "yes" if r["exactly_once"] and not r["failed"] else f"NO ({r['failed']} failed)"
    return [str(r["workers"]), f"{r['fault_rate']:.0%}",
            r["backoff"] if r["fault_rate"] else "–", f"{r['seconds']:.2f}",
            f"{r['records_per_s']:,.0f}", f"{r['sustained_per_s']:,.0f}",
            f"{setup.ceiling:,.0f}", f"**{r['sustained_per_s'] / setup.ceiling:.3f}**",
            f"{r['requests'] / (setup.records / BATCH):.3f}",
            f"{r['sustained_requests_per_s'] / (setup.limit / setup.window):.3f}",
            f"{r['max_in_window']} / {r['max_arrivals_in_window']}",
            f"{r['delay_ms']['p99']:g} / {r['delay_ms']['max']:g}", str(r["fake_429"]),
            f"{inj.get('429', 0)}/{inj.get('503', 0)}/{inj.get('drop', 0)}",
            str(r["retries"]),
            f"{r['limiter_share']:.0%} / {r['retry_share']:.0%} / {other:.0%}", once,
            f"{r['load']:.1f}"]


def table(setup: Setup, results: list[dict[str, Any]]) -> str:
    """The runs in Markdown."""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join(["---:"] * len(HEAD)) + "|"]
    lines += ["| " + " | ".join(row(setup, r)) + " |" for r in results]
    return "\n".join(lines)


def section(setup: Setup, results: list[dict[str, Any]], command: str,
            info: dict[str, str]) -> str:
    """The runs as a docs/benchmarks.md section."""
    spec = (f"checked against `{os.path.relpath(setup.specs, ROOT)}/hubspot`" if setup.specs
            else "not checked")
    over = [r for r in results if r["max_in_window"] > setup.limit]
    paced = setup.window / (setup.window + setup.margin)
    lines = [
        f"### HubSpot adapter throughput, {setup.records:,} records, {setup.limit} requests "
        f"per {setup.window:g} s — {info['date']}",
        "",
        f"- command: `{command}` (what is measured, and why: the top of "
        "`bench/hubspot_bench.py`)",
        f"- machine: {info['cpus']}; RAM {info['ram']}; {info['os']}; Python "
        f"{info['python']}; commit `{info['commit']}`",
        f"- fake HubSpot: {setup.limit} requests per {setup.window:g} s (HubSpot's 100 per "
        f"{HUBSPOT_WINDOW:g} s with the window scaled down), requests {spec}, its process's "
        f"cyclic GC {'on' if setup.fake_gc else 'paused during each run'}; faults a seeded "
        f"(seed {setup.seed}) mix of {', '.join(FAULT_KINDS)}, injected 429s with "
        f"Retry-After: {setup.fault_retry_after}",
        f"- workers: `create_contacts` with 100 records a call; one `RedisLimiter` key, "
        f"`RateLimit({setup.limit}, {setup.window:g}, margin={setup.margin:g})`; "
        "`RetryPolicy(max_attempts=10, ...)` with the backoff in the table",
        f"- never above the limit at the fake (every arrival it could count: all but those "
        f"answered 429, injected 503s and dropped connections included; closed windows): "
        f"{'yes, in every run' if not over else f'NO, in {len(over)} run(s)'}"
        f"; every arrival had a limiter grant: "
        f"{'yes' if all(r['arrivals'] == r['grants'] for r in results) else 'NO'}"
        f"; spec violations: {sum(r['violations'] for r in results)}",
        "- sustained: from the first request the limiter held back, over whole periods of "
        f"{setup.limit} requests; load: the 1-minute load average at the end of the run (2 "
        "CPUs; the run itself is about 1–2 of it)",
        f"- ratio = (sustained requests/s ÷ limit) ÷ (requests/batch), requests counted as "
        "the fake counts them. `create_contacts` sends one batch create per 100 records. "
        "Each request holds its place from its grant until its answer and one window after "
        f"(the margin, {setup.margin:g} s, caps the first factor at {paced:.3f}), so the first "
        "factor is at most window ÷ (window + a request's time in flight); the second is 1 "
        "plus the faults that cost a place (503s and drops: a 429 gives its place back)",
        "",
        table(setup, results),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=100, help="requests per window")
    parser.add_argument("--window", type=float, default=2.0, help="seconds (HubSpot: 10)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--margin", type=float, default=0.0,
                        help="limiter margin, seconds (production default: 0.05)")
    parser.add_argument("--short-backoff", type=float, default=0.01,
                        help="first retry wait and its jitter of the short policy, seconds")
    parser.add_argument("--fault-retry-after", type=int, default=0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fake-gc", action="store_true",
                        help="leave the fake's process GC on (its pauses delay arrivals)")
    parser.add_argument("--no-spec-check", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    scale = args.window / HUBSPOT_WINDOW
    short = Backoff("short", args.short_backoff, args.short_backoff, 30 * scale)
    scaled = Backoff(f"production ÷ {1 / scale:g}", 0.5 * scale, 0.5 * scale, 30 * scale)
    specs = None if args.no_spec_check or not (SPECS / "hubspot").is_dir() else SPECS
    setup = Setup(args.records, args.limit, args.window, args.margin, args.fault_retry_after,
                  args.seed, specs, args.fake_gc)
    info = report.machine()
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        for rate, backoff in ((0.0, short), (args.fault_rate, short),
                              (args.fault_rate, scaled)):
            print(f"{workers} worker(s), faults {rate:.0%}, {backoff.name} backoff ...",
                  flush=True)
            results.append(run(setup, workers, rate, backoff))
            print(json.dumps({k: v for k, v in results[-1].items() if k != "failures"}),
                  flush=True)
    print(table(setup, results))
    if args.write_docs:
        command = "python bench/hubspot_bench.py " + " ".join(sys.argv[1:])
        report.append_docs(section(setup, results, command.strip(), info))


if __name__ == "__main__":
    main()
