"""The Marketo adapter against the fake Marketo: the conformance suite, and what is Marketo's
own (error codes 601/602/606/607/615, the 300-record cap, quiet secrets, request shapes)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.conformance.crm_suite import CRMConformance, contact, contents, emails, oks
from tools import marketo
from tools.crm import CRM
from tools.fakes import marketo as fake
from tools.fakes.marketo import Limits, MarketoState, marketo_app
from tools.fakes.server import FakeServer
from tools.http import AuthFailed
from tools.marketo import MarketoCRM
from tools.ratelimit import LocalLimiter, NoLimit, RateLimit
from tools.retry import RetriesExhausted, RetryPolicy, describe

SPEC = Path(__file__).resolve().parents[2] / "shared/specs/marketo/swagger-mapi.json"
# Marketo's 100 calls in 20 s, scaled down in time so that the suite runs in seconds.
WINDOW = RateLimit(requests=100, per_seconds=0.25)
FAST_RETRY = RetryPolicy(max_attempts=8, initial=0.05, max_wait=2.0, jitter=0.05)


def spec_path() -> Path:
    """The official Swagger file the fake checks requests against (it must be there)."""
    assert SPEC.is_file(), (
        f"the Marketo spec is missing: expected {SPEC} (shared/specs beside the checkout, "
        "see shared/specs/README.md)")
    return SPEC


def connect(server: FakeServer, state: MarketoState, **options: Any) -> MarketoCRM:
    """An adapter for the fake, with its limit and a quick retry policy."""
    options.setdefault("limiter", LocalLimiter(WINDOW))
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("created_since", datetime.now(UTC) - timedelta(hours=1))
    return MarketoCRM(server.url, state.client_id, SecretStr(state.client_secret), **options)


@pytest.fixture
def state() -> MarketoState:
    return MarketoState(limits=Limits(calls=WINDOW.requests, per_seconds=WINDOW.per_seconds))


@pytest.fixture
def server(state: MarketoState) -> Iterator[FakeServer]:
    """The fake on its own port; afterwards, no request may have broken the spec."""
    with FakeServer(marketo_app(state, spec_path())) as running:
        yield running
    assert state.checker.violations == []


@pytest.fixture
def mkto(server: FakeServer, state: MarketoState) -> Iterator[MarketoCRM]:
    crm = connect(server, state)
    yield crm
    crm.close()


class TestMarketoAgainstTheFake(CRMConformance):
    @pytest.fixture
    def crm(self, mkto: MarketoCRM) -> Iterator[CRM]:
        yield mkto


def test_public_api() -> None:
    assert sorted(marketo.__all__) == [
        "FIELD_MAP", "Folder", "MARKETO_LIMIT", "MarketoCRM", "MarketoError"]
    assert sorted(fake.__all__) == ["Limits", "MarketoState", "marketo_app"]


def test_fields_map_to_marketo_lead_fields(mkto: MarketoCRM, state: MarketoState) -> None:
    mkto.create_contacts([contact("ada@example.com", firstname="Ada", jobtitle="Countess",
                                  lead_source="Web", utm_source="news")])
    lead = state.leads[state.lead_id("ada@example.com") or 0]
    assert {k: lead.get(k) for k in ("firstName", "title", "leadSource", "utmSource")} == {
        "firstName": "Ada", "title": "Countess", "leadSource": "Web", "utmSource": "news"}


# --- limits ------------------------------------------------------------------------------

def test_rate_limit_606_is_retried(server: FakeServer, state: MarketoState) -> None:
    state.limits.calls, state.limits.per_seconds = 3, 0.5
    crm = connect(server, state, limiter=NoLimit())   # nothing keeps it under the limit
    try:
        crm.create_contacts([contact(key) for key in emails(20)])
        for _ in range(5):
            assert len(crm.read_contacts(emails(20))) == 20
    finally:
        crm.close()
    assert state.refused["606"] > 0


def test_daily_quota_607_stops_at_once(mkto: MarketoCRM, state: MarketoState) -> None:
    mkto.create_contacts([contact("ada@example.com", firstname="Ada")])
    state.limits.daily_quota = state.quota_used
    with pytest.raises(RetriesExhausted) as caught:
        mkto.update_contacts([("ada@example.com", {"firstname": "Lady Ada"})])
    assert caught.value.attempts == 1 and state.refused["607"] == 1
    assert "607" in str(caught.value) and "daily quota" in str(caught.value)
    assert "beyond the 2 s cap" in str(caught.value)
    state.limits.daily_quota = 50_000       # the quota resets: the write was never made
    assert contents(mkto) == {"ada@example.com": {"firstname": "Ada"}}


def test_concurrency_615_is_retried(server: FakeServer, state: MarketoState) -> None:
    state.limits.concurrent, state.limits.latency = 2, 0.1
    crm = connect(server, state)
    crm.create_contacts([contact(key) for key in emails(10)])
    found: list[int] = []

    def read() -> None:
        found.append(len(crm.read_contacts(emails(10))))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    crm.close()
    assert found == [10] * 6 and state.refused["615"] > 0


def test_calls_carry_at_most_300_records(mkto: MarketoCRM, state: MarketoState) -> None:
    keys = emails(1000)
    assert all(oks(mkto.create_contacts([contact(key) for key in keys])))
    mkto.create_list("Newsletter")
    assert all(oks(mkto.add_members("Newsletter", keys)))
    assert mkto.list_members("Newsletter", keys) == set(keys)
    assert all(oks(mkto.delete_contacts(keys)))
    assert state.largest_batch == 300


def test_the_fake_refuses_more_than_300(server: FakeServer, state: MarketoState) -> None:
    token = state.issue_token(state.client_id, state.client_secret)
    assert token is not None
    body = {"action": "createOrUpdate", "lookupField": "email",
            "input": [{"email": key} for key in emails(301)]}
    answer = httpx.post(f"{server.url}/rest/v1/leads.json", json=body,
                        headers={"Authorization": f"Bearer {token[0]}"}).json()
    assert answer["success"] is False and answer["errors"][0]["code"] == "1003"
    assert state.leads == {}


def test_long_keys_stay_under_the_uri_limit(mkto: MarketoCRM, state: MarketoState) -> None:
    keys = [f"{'x' * 50}.{n:04d}@{'long-domain-' * 3}example.com" for n in range(600)]
    assert all(oks(mkto.create_contacts([contact(key) for key in keys])))
    assert len(mkto.read_contacts(keys)) == 600
    assert state.refused == {}


# --- tokens ------------------------------------------------------------------------------

def test_expired_602_and_invalid_601_tokens_are_refreshed(
    mkto: MarketoCRM, state: MarketoState,
) -> None:
    mkto.create_contacts([contact("ada@example.com", firstname="Ada")])
    first = set(state.tokens)
    state.expire_tokens()
    assert list(mkto.read_contacts(["ada@example.com"])) == ["ada@example.com"]
    assert state.refused["602"] == 1 and set(state.tokens) - first
    state.tokens.clear()                    # revoked: Marketo no longer knows the token
    assert oks(mkto.update_contacts([("ada@example.com", {"city": "London"})])) == [True]
    assert state.refused["601"] == 1
    assert contents(mkto) == {"ada@example.com": {"firstname": "Ada", "city": "London"}}


def test_a_fresh_token_refused_again_is_auth_failed(
    mkto: MarketoCRM, state: MarketoState,
) -> None:
    state.limits.token_seconds = 0          # every token is born expired
    with pytest.raises(AuthFailed, match="refused a fresh access token"):
        mkto.read_contacts(["ada@example.com"])
    assert state.refused["602"] == 2


def test_wrong_credentials_fail_without_retrying(server: FakeServer,
                                                 state: MarketoState) -> None:
    crm = MarketoCRM(server.url, state.client_id, SecretStr("not-the-secret"),
                     limiter=NoLimit(), retry=FAST_RETRY)
    with pytest.raises(AuthFailed) as caught:
        crm.read_contacts(["ada@example.com"])
    crm.close()
    assert "not-the-secret" not in describe(caught.value) and "401" in str(caught.value)


def test_no_secret_or_token_in_logs_or_errors(
    server: FakeServer, state: MarketoState, caplog: pytest.LogCaptureFixture,
) -> None:
    errors: list[str] = []
    mkto = connect(server, state, retry=RetryPolicy(max_attempts=3, initial=0.01, max_wait=0.1))
    with caplog.at_level(logging.DEBUG):
        mkto.create_contacts([contact("ada@example.com")])
        state.expire_tokens()
        mkto.read_contacts(["ada@example.com"])
        server.faults.set(1.0, ("503",))
        with pytest.raises(RetriesExhausted) as caught:
            mkto.read_contacts(["ada@example.com"])
        errors.append(describe(caught.value))
        server.faults.set(0.0)
        state.limits.token_seconds = 0
        state.expire_tokens()
        with pytest.raises(AuthFailed) as refused:
            mkto.read_contacts(["ada@example.com"])
        errors.append(describe(refused.value))
    mkto.close()
    said = "\n".join([*errors, caplog.text, repr(mkto), str(vars(mkto))])
    assert len(state.tokens) >= 3 and caplog.records
    for secret in [state.client_secret, *state.tokens]:
        assert secret not in said


# --- what the fake checks ----------------------------------------------------------------

def test_the_fake_refuses_a_wrong_shape(server: FakeServer, state: MarketoState) -> None:
    token = state.issue_token(state.client_id, state.client_secret)
    assert token is not None
    auth = {"Authorization": f"Bearer {token[0]}"}
    answer = httpx.post(f"{server.url}/rest/v1/leads.json", json={"input": "ada@example.com"},
                        headers=auth).json()
    assert answer["success"] is False and answer["errors"][0]["code"] == "609"
    answer = httpx.post(f"{server.url}/rest/asset/v1/staticLists.json",
                        data={"name": "Newsletter"}, headers=auth).json()
    assert answer["success"] is False
    assert [v.path for v in state.checker.violations] == [
        "/rest/v1/leads.json", "/rest/asset/v1/staticLists.json"]
    state.checker.violations.clear()


def test_identity_takes_get_as_well(server: FakeServer, state: MarketoState) -> None:
    params = {"grant_type": "client_credentials", "client_id": state.client_id,
              "client_secret": state.client_secret}
    answer = httpx.get(f"{server.url}/identity/oauth/token", params=params).json()
    assert answer["token_type"] == "bearer" and answer["expires_in"] == 3600
    again = httpx.post(f"{server.url}/identity/oauth/token", data=params).json()
    assert again["access_token"] == answer["access_token"]    # a live token is reused


def test_calls_without_a_token_are_refused(server: FakeServer, state: MarketoState) -> None:
    answer = httpx.get(f"{server.url}/rest/v1/leads/describe.json").json()
    assert answer["errors"] == [{"code": "600", "message": "Access token not specified"}]


def test_keys_match_without_regard_to_case(mkto: MarketoCRM) -> None:
    mkto.create_contacts([contact("Ada@Example.com", firstname="Ada")])
    assert oks(mkto.create_contacts([contact("ada@example.com")])) == [False]
    assert list(mkto.read_contacts(["ADA@example.com"])) == ["ADA@example.com"]
    assert [r.key for r in mkto.iter_contacts()] == ["Ada@Example.com"]
