"""A 20,000-contact list upload to the Salesforce fake through 5% of injected faults (429, 503,
dropped connections): every contact lands exactly once, and so does every membership.

The upload is a real job (plan, approve, execute batch by batch with the ledger) whose CRM
is the Salesforce adapter on the fake; retry waits are small so the test stays short.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from pydantic import SecretStr

from tests.helpers import make_app, upload, write_csv
from tools.crm import CRM
from tools.fakes.salesforce import Limits, SalesforceState, salesforce_app
from tools.fakes.server import FakeServer
from tools.retry import RetryPolicy
from tools.salesforce import SalesforceCRM

COUNT = 20_000
# Waits of a few milliseconds: the faults are the fake's, not a real server's overload.
POLICY = RetryPolicy(max_attempts=10, initial=0.005, max_wait=0.5, jitter=0.005)


def test_a_20000_contact_upload_through_faults_lands_each_record_once(tmp_path: Path) -> None:
    keys = [f"lead{n:05d}@example.com" for n in range(COUNT)]
    csv = "email,firstname,lastname,company\n" + "".join(
        f"{key},First{n},Last{n},Acme {n % 97}\n" for n, key in enumerate(keys))
    state = SalesforceState(limits=Limits(daily_requests=100_000))
    started = time.monotonic()
    with FakeServer(salesforce_app(state)) as server:
        server.faults.set(0.05, ("429", "503", "drop"), seed=20_000)
        server.faults.retry_after = 0    # Retry-After: 0 (the policy's backoff still applies)
        app = make_app(tmp_path / "home")

        def connect(name: str) -> CRM:
            return SalesforceCRM(server.url, SecretStr(state.token), retry=POLICY)

        app.runtime.connect = connect
        try:
            job = upload(app, write_csv(tmp_path / "leads.csv", csv), list_name="Expo 2026")
            done = app.jobs.decide(job, "bob", "approve")
        finally:
            app.close()
        injected = dict(server.faults.injected)
    elapsed = time.monotonic() - started

    assert done.state == "succeeded", done
    assert sum(injected.values()) >= 0.03 * sum(state.calls.values()), injected
    assert all(injected.get(kind, 0) > 0 for kind in ("429", "503", "drop")), injected
    contacts = state.records("Contact")
    per_email = Counter(str(row["Email"]) for row in contacts)
    assert len(contacts) == COUNT and set(per_email) == set(keys)       # each exactly once
    assert {row["FirstName"] for row in contacts if row["Email"] == keys[7]} == {"First7"}
    [campaign] = state.records("Campaign")
    assert campaign["Name"] == "Expo 2026"
    pairs = Counter((row["CampaignId"], row["ContactId"]) for row in state.records(
        "CampaignMember"))
    assert len(pairs) == COUNT and set(pairs.values()) == {1}
    assert {contact for _, contact in pairs} == {row["Id"] for row in contacts}
    assert state.largest_batch <= 200
    assert elapsed < 60, f"took {elapsed:.1f} s"
