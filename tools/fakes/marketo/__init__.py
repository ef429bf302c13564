"""A fake Marketo (REST) for tests and dry runs: real HTTP, Marketo's shapes and limits.

    python -m tools.fakes.marketo --port 8003

See `_app` for the routes, `_gate` for the limits and checks every call passes, `_state`
for what the instance holds.
"""

from tools.fakes.marketo._app import marketo_app
from tools.fakes.marketo._state import Limits, MarketoState

__all__ = ["Limits", "MarketoState", "marketo_app"]
