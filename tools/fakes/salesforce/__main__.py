"""Run the fake Salesforce org on 127.0.0.1: ``python -m tools.fakes.salesforce --port 8002``.

It prints the instance URL and an access token to give mops (the token changes at every
start unless ``--token`` fixes it). The org is in memory: it is empty at every start.
"""

from __future__ import annotations

import argparse

import uvicorn

from tools.fakes.salesforce._app import salesforce_app
from tools.fakes.salesforce._state import Limits, SalesforceState
from tools.fakes.server import KINDS, Faults, with_faults


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tools.fakes.salesforce",
                                     description=__doc__)
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--token", help="the access token to accept (default: a new one)")
    parser.add_argument("--daily-requests", type=int, default=None,
                        help="API requests allowed per 24 hours (default: unlimited)")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of requests answered with a fault (0 to 1)")
    parser.add_argument("--fault-kinds", default="429,503,drop",
                        help=f"comma-separated, among {', '.join(KINDS)}")
    args = parser.parse_args(argv)
    state = SalesforceState(token=args.token, limits=Limits(daily_requests=args.daily_requests))
    faults = Faults()
    faults.set(args.fault_rate, tuple(k for k in args.fault_kinds.split(",") if k))
    print(f"fake Salesforce at http://127.0.0.1:{args.port}")
    print(f"access token: {state.token}")
    uvicorn.run(with_faults(salesforce_app(state), faults), host="127.0.0.1", port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
