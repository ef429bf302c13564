"""A 20,000-contact upload to the fake HubSpot through 5% of 429s, 503s and dropped
connections: every record ends up there exactly once, with its values."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import SecretStr

from tests.conformance.crm_suite import contents, emails
from tests.test_hubspot_crm import TOKEN, serve, specs
from tools.apply import apply
from tools.changes import Change
from tools.fakes.hubspot import HubSpotState, Limits, hubspot_app
from tools.hubspot import HubSpotCRM
from tools.ratelimit import LocalLimiter, RateLimit
from tools.retry import RetryPolicy

__all__ = ["specs"]   # the fixture, shared with test_hubspot_crm

COUNT = 20_000
BATCH = 1_000        # changes per batch, as a job's execute_batch gets them


def test_twenty_thousand_contacts_through_faults_land_exactly_once(specs: Path) -> None:
    # HubSpot's window scaled down 20 times (190 per 0.5 s), and the adapter keeping to it.
    state = HubSpotState(tokens=[TOKEN], limits=Limits(per_window=190, window_seconds=0.5))
    keys = emails(COUNT, prefix="lead")
    wanted = {key: {"firstname": key[:8], "company": "Acme", "utm_source": "fair"}
              for key in keys}
    with serve(hubspot_app(state, specs)) as server:
        crm = HubSpotCRM(server.url, token=SecretStr(TOKEN),
                         limiter=LocalLimiter(RateLimit(185, 0.5)),
                         retry=RetryPolicy(max_attempts=10, initial=0.01, max_wait=2.0,
                                           jitter=0.02))
        server.faults.retry_after = 0
        server.faults.set(0.05, ("429", "503", "drop"), seed=2026)
        try:
            for start in range(0, COUNT, BATCH):
                batch = [Change(op="create", object="contact", key=key, after=wanted[key])
                         for key in keys[start:start + BATCH]]
                failed = [r for r in apply(crm, batch) if not r.ok]
                assert failed == [], failed[:3]
            server.faults.set(0.0)
            assert contents(crm) == wanted
        finally:
            crm.close()
    injected = server.faults.injected
    assert all(injected.get(kind, 0) >= 1 for kind in ("429", "503", "drop")), injected
    # A create whose answer was lost: read back, not resent, not failed as "exists".
    assert server.faults.where.get(("drop", "/crm/v3/objects/contacts/batch/create"), 0) >= 1
    stored = Counter(state.emails())
    assert len(stored) == COUNT and set(stored) == set(keys)
    assert max(stored.values()) == 1, "no contact twice"
    assert state.violations == []
