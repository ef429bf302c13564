"""A fake HubSpot (CRM v3) speaking HubSpot's wire format, for tests and users' dry runs.

    state = HubSpotState(tokens=["pat-na1-test"], limits=Limits(per_window=100))
    with FakeServer(hubspot_app(state, Path("../shared/specs"))) as server:
        ...

It serves what `tools.hubspot.HubSpotCRM` uses: contacts batch read / upsert / update /
archive and paging, contact properties, and lists (create, find by name, delete, search,
membership add / remove / read), with HubSpot's status codes, bodies and limits (batches of
100, a rolling window and a daily quota, 207 per-item errors, 401 for unknown or expired
tokens). With a spec directory it checks each request against HubSpot's OpenAPI documents.
Run it alone with ``python -m tools.fakes.hubspot --port 8001``.
"""

from tools.fakes.hubspot._app import hubspot_app, load_spec
from tools.fakes.hubspot._state import (
    DEFAULT_PROPERTIES,
    Contact,
    ContactList,
    HubSpotState,
    Limits,
    PropertyDef,
)

__all__ = [
    "DEFAULT_PROPERTIES",
    "Contact",
    "ContactList",
    "HubSpotState",
    "Limits",
    "PropertyDef",
    "hubspot_app",
    "load_spec",
]
