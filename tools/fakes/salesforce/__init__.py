"""A fake Salesforce org served over real HTTP, for tests and for dry runs.

    state = SalesforceState()
    with FakeServer(salesforce_app(state)) as server:
        crm = SalesforceCRM(server.url, SecretStr(state.token))

It speaks the REST resources `tools.salesforce` uses (SOQL query with paging, sObject
Collections create / update / upsert / delete, describe), in Salesforce's shapes, status codes
and limits: 200 records a call, a daily request limit (403 REQUEST_LIMIT_EXCEEDED), expiring
tokens (401 INVALID_SESSION_ID), per-record errors. Faults (429, 5xx, dropped connections,
slow answers) come from `tools.fakes.server.FakeServer`. Standalone::

    python -m tools.fakes.salesforce --port 8002
"""

from tools.fakes.salesforce._app import salesforce_app
from tools.fakes.salesforce._state import Limits, SalesforceState

__all__ = ["Limits", "SalesforceState", "salesforce_app"]
