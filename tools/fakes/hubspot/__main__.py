"""Run the fake HubSpot alone, for dry runs: ``python -m tools.fakes.hubspot --port 8001``.

Point mops at ``http://127.0.0.1:8001`` with any token (or only those given with --token).
Give --spec-dir (the folder holding ``hubspot/contacts.json``...) to check requests against
HubSpot's official OpenAPI documents; without it, bodies are not checked.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from tools.fakes.hubspot._app import hubspot_app
from tools.fakes.hubspot._state import HubSpotState, Limits


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tools.fakes.hubspot",
                                     description="A fake HubSpot CRM v3 API for dry runs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--token", action="append",
                        help="a token to accept (repeatable); default: any bearer token")
    parser.add_argument("--spec-dir", type=Path, default=None,
                        help="folder with hubspot/*.json specs, to check request bodies")
    parser.add_argument("--per-window", type=int, default=Limits.per_window,
                        help="requests per rolling window (HubSpot: 100 or 190)")
    parser.add_argument("--window-seconds", type=float, default=Limits.window_seconds)
    parser.add_argument("--daily", type=int, default=Limits.daily,
                        help="requests per day")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    limits = Limits(per_window=args.per_window, window_seconds=args.window_seconds,
                    daily=args.daily)
    state = HubSpotState(tokens=args.token, limits=limits)
    uvicorn.run(hubspot_app(state, args.spec_dir), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
