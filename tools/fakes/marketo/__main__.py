"""Serve a fake Marketo on 127.0.0.1 for dry runs: ``python -m tools.fakes.marketo``.

Point a target at it (``kind = "marketo"``, ``url = "http://127.0.0.1:8003"``, and the
client id and secret given here). Its data lives in memory and goes when it stops.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from tools.fakes.marketo import Limits, MarketoState, marketo_app
from tools.fakes.server import Faults, with_faults

# Where the specs sit beside a checkout (../shared/specs), if they do.
SPEC = Path(__file__).resolve().parents[4] / "shared/specs/marketo/swagger-mapi.json"


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tools.fakes.marketo",
                                     description="A fake Marketo REST API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--client-id", default="mops-fake")
    parser.add_argument("--client-secret", default="mops-fake-secret")
    parser.add_argument("--spec", type=Path, default=SPEC if SPEC.is_file() else None,
                        help="swagger-mapi.json to check request bodies against")
    parser.add_argument("--calls", type=int, default=100, help="calls per window (606)")
    parser.add_argument("--per-seconds", type=float, default=20.0)
    parser.add_argument("--daily-quota", type=int, default=50_000)
    parser.add_argument("--faults", type=float, default=0.0,
                        help="share of requests answered 429/503 or dropped")
    args = parser.parse_args(argv)
    limits = Limits(calls=args.calls, per_seconds=args.per_seconds,
                    daily_quota=args.daily_quota)
    state = MarketoState(client_id=args.client_id, client_secret=args.client_secret,
                         limits=limits)
    app = with_faults(marketo_app(state, args.spec), Faults(rate=args.faults))
    print(f"fake Marketo on http://127.0.0.1:{args.port} (client id {args.client_id!r}, "
          f"spec checks {'on' if args.spec else 'off'})")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
