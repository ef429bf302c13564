"""The Salesforce adapter against its wire-level fake: the conformance suite, and what is its own
(per-item errors, limits, tokens, the fake's strictness)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from tests.conformance.crm_suite import CRMConformance, contact, contents, emails, oks
from tools import salesforce
from tools.crm import CRM
from tools.fakes.salesforce import Limits, SalesforceState, salesforce_app
from tools.fakes.server import FakeServer
from tools.http import AuthFailed
from tools.retry import RetriesExhausted, RetryPolicy, Transient
from tools.salesforce import NO_LASTNAME, SalesforceCRM, SalesforceRejected
from tools.salesforce._api import classify

FAST = RetryPolicy(max_attempts=8, initial=0.01, max_wait=2.0, jitter=0.01)
API = "/services/data/v62.0"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeServer, SalesforceState]]:
    """One fake org on a real port for the module; each test empties it (`fake`)."""
    state = SalesforceState()
    with FakeServer(salesforce_app(state)) as server:
        yield server, state


@pytest.fixture
def fake(served: tuple[FakeServer, SalesforceState]) -> Iterator[tuple[str, SalesforceState]]:
    server, state = served
    state.reset()
    state.limits = Limits()
    server.faults.set(0.0)
    yield server.url, state


@pytest.fixture
def sf(fake: tuple[str, SalesforceState]) -> Iterator[SalesforceCRM]:
    url, state = fake
    crm = SalesforceCRM(url, SecretStr(state.token), retry=FAST)
    yield crm
    crm.close()


class TestSalesforceConformance(CRMConformance):
    @pytest.fixture
    def crm(self, sf: SalesforceCRM) -> Iterator[CRM]:
        yield sf


def test_public_api() -> None:
    assert sorted(salesforce.__all__) == [
        "CONTACT_FIELDS", "NO_LASTNAME", "SalesforceCRM", "SalesforceRejected"]


def test_per_item_errors_from_salesforce_leave_the_others_written(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    results = sf.create_contacts([
        contact("ada@example.com", firstname="Ada"),
        contact("long@example.com", firstname="x" * 41),         # FirstName holds 40
        contact("not-an-email", firstname="Bad"),
        contact("bob@example.com", lastname="Bob"),
    ])
    assert oks(results) == [True, False, False, True]
    assert "STRING_TOO_LONG" in (results[1].error or "")
    assert "INVALID_EMAIL_ADDRESS" in (results[2].error or "")
    assert sorted(contents(sf)) == ["ada@example.com", "bob@example.com"]
    updated = sf.update_contacts([("ada@example.com", {"city": "y" * 41}),
                                  ("bob@example.com", {"city": "Oslo"})])
    assert oks(updated) == [False, True] and "STRING_TOO_LONG" in (updated[0].error or "")


def test_an_empty_lastname_is_stored_as_the_placeholder_and_reads_back_empty(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    sf.create_contacts([contact("ada@example.com", firstname="Ada")])
    assert state.records("Contact")[0]["LastName"] == NO_LASTNAME
    sf.update_contacts([("ada@example.com", {"lastname": "Lovelace"})])
    assert contents(sf) == {"ada@example.com": {"firstname": "Ada", "lastname": "Lovelace"}}
    sf.update_contacts([("ada@example.com", {"lastname": None})])
    assert state.records("Contact")[0]["LastName"] == NO_LASTNAME
    assert contents(sf) == {"ada@example.com": {"firstname": "Ada"}}


def test_emails_match_without_case_and_mops_key_is_lower_case(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    assert oks(sf.create_contacts([contact("Ada@Example.com")])) == [True]
    assert oks(sf.create_contacts([contact("ada@example.com")])) == [False]
    assert list(sf.read_contacts(["ADA@example.com"])) == ["ADA@example.com"]
    [row] = state.records("Contact")
    assert (row["Email"], row["Mops_Key__c"]) == ("Ada@Example.com", "ada@example.com")


def test_an_existing_contact_without_mops_key_is_found(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    url, state = fake
    with httpx.Client(base_url=url, headers=_bearer(state)) as client:   # made by someone else
        answer = client.post(f"{API}/composite/sobjects", json={"records": [
            {"attributes": {"type": "Contact"}, "Email": "old@example.com", "LastName": "Old"}]})
    assert answer.json()[0]["success"]
    assert oks(sf.create_contacts([contact("old@example.com")])) == [False]
    assert contents(sf) == {"old@example.com": {"lastname": "Old"}}
    assert len(state.records("Contact")) == 1


def test_quotes_and_backslashes_reach_soql_escaped(sf: SalesforceCRM) -> None:
    key, name = "o'brien+x@example.com", "Bob's \\ list \n"
    assert oks(sf.create_contacts([contact(key, firstname="O'B")])) == [True]
    assert sf.read_contacts([key])[key].fields == {"firstname": "O'B"}
    assert sf.create_list(name).ok and sf.list_exists(name) and not sf.list_exists("Bob's")
    assert oks(sf.add_members(name, [key])) == [True]
    assert sf.list_members(name, [key]) == {key}


def test_long_in_lists_are_cut_to_fit_the_uri_limit(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    keys = [f"{'x' * 60}{n:04d}@example.com" for n in range(300)]
    assert all(oks(sf.create_contacts([contact(k) for k in keys])))
    assert len(sf.read_contacts(keys)) == 300
    assert state.refused["URI_TOO_LONG"] == 0
    assert state.calls["GET /query"] > 4     # 300 long keys need more than two IN lists


def test_a_request_salesforce_refuses_is_raised_not_retried(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    with pytest.raises(SalesforceRejected, match="HTTP 400 INVALID_FIELD"):
        list(sf._api.query("SELECT Shoe__c FROM Contact"))
    assert state.calls["GET /query"] == 1


def test_collections_calls_carry_at_most_200_records(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    keys = emails(450)
    assert all(oks(sf.create_contacts([contact(k) for k in keys])))
    assert state.calls["PATCH /composite/sobjects/upsert"] == 3
    assert state.largest_batch == 200
    assert all(oks(sf.delete_contacts(keys)))
    assert state.calls["DELETE /composite/sobjects"] == 3


def test_the_fake_refuses_more_than_200_records(fake: tuple[str, SalesforceState]) -> None:
    url, state = fake
    records = [{"attributes": {"type": "Contact"}, "LastName": f"n{i}"} for i in range(201)]
    with httpx.Client(base_url=url, headers=_bearer(state)) as client:
        answer = client.post(f"{API}/composite/sobjects", json={"records": records})
        ids = ",".join(["003000000000001AAA"] * 201)
        deleted = client.delete(f"{API}/composite/sobjects", params={"ids": ids})
    assert answer.status_code == 400 and deleted.status_code == 400
    assert answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert state.records("Contact") == []


@pytest.mark.parametrize(("method", "path", "body", "code"), [
    ("POST", "/composite/sobjects", {"records": [], "allOrNothing": True}, "JSON_PARSER_ERROR"),
    ("POST", "/composite/sobjects", {"records": [{"LastName": "x"}]}, "JSON_PARSER_ERROR"),
    ("POST", "/composite/sobjects",
     {"records": [{"attributes": {"type": "Contact"}, "Shoe__c": "44"}]}, "INVALID_FIELD"),
    ("POST", "/composite/sobjects",
     {"records": [{"attributes": {"type": "Lead"}, "LastName": "x"}]}, "INVALID_TYPE"),
    ("PATCH", "/composite/sobjects/Contact/Email", {"records": []}, "INVALID_FIELD"),
    ("GET", "/query?q=SELECT Id FROM Contact WHERE Email LIKE 'a%'", None, "MALFORMED_QUERY"),
    ("GET", "/query?q=SELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b'", None,
     "MALFORMED_QUERY"),
    ("GET", "/query?q=SELECT Shoe__c FROM Contact", None, "INVALID_FIELD"),
    ("GET", "/nowhere", None, "NOT_FOUND"),
])
def test_the_fake_answers_a_wrong_request_in_salesforce_error_shape(
        fake: tuple[str, SalesforceState], method: str, path: str, body: object,
        code: str) -> None:
    url, state = fake
    with httpx.Client(base_url=url, headers=_bearer(state)) as client:
        answer = client.request(method, API + path, json=body)
    assert answer.status_code in (400, 404)
    [error] = answer.json()
    assert error["errorCode"] == code and error["message"]


def test_all_or_none_rolls_back_every_record(fake: tuple[str, SalesforceState]) -> None:
    url, state = fake
    records = [{"attributes": {"type": "Contact"}, "LastName": "Ok"},
               {"attributes": {"type": "Contact"}}]                  # LastName missing
    with httpx.Client(base_url=url, headers=_bearer(state)) as client:
        answer = client.post(f"{API}/composite/sobjects",
                             json={"allOrNone": True, "records": records}).json()
    assert [r["errors"][0]["statusCode"] for r in answer] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING"]
    assert state.records("Contact") == []


def test_a_spent_daily_limit_stops_at_once(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    sf.create_contacts([contact("ada@example.com")])
    state.limits.daily_requests = state.used()
    started = time.monotonic()
    with pytest.raises(RetriesExhausted, match="REQUEST_LIMIT_EXCEEDED") as caught:
        sf.read_contacts(["ada@example.com"])
    assert time.monotonic() - started < 1.0
    assert caught.value.attempts == 1 and state.refused["REQUEST_LIMIT_EXCEEDED"] == 1
    assert "beyond" in str(caught.value)


def test_a_concurrency_limit_is_retried_and_a_daily_one_is_not() -> None:
    def refused(message: str) -> httpx.Response:
        request = httpx.Request("GET", f"https://x.invalid{API}/query")
        return httpx.Response(403, request=request, json=[
            {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": message}])

    with pytest.raises(Transient) as concurrent:
        classify(refused("ConcurrentPerOrgLongTxn Limit exceeded."))
    with pytest.raises(Transient) as daily:
        classify(refused("TotalRequests Limit exceeded."))
    assert concurrent.value.retry_after is None
    assert (daily.value.retry_after or 0) > FAST.max_wait


def test_an_expired_token_is_a_clear_auth_failure_without_the_token(
        fake: tuple[str, SalesforceState], caplog: pytest.LogCaptureFixture) -> None:
    url, state = fake
    caplog.set_level(logging.DEBUG)
    token = state.issue_token()
    crm = SalesforceCRM(url, SecretStr(token), retry=FAST)
    try:
        crm.create_contacts([contact("ada@example.com")])
        state.expire_token(token)
        with pytest.raises(AuthFailed, match="INVALID_SESSION_ID") as caught:
            crm.read_contacts(["ada@example.com"])
        assert state.refused["INVALID_SESSION_ID"] == 1            # not retried
        message = str(caught.value)
        assert "expired or invalid" in message
        secret = token.split("!")[1]
        assert secret not in message and secret not in repr(caught.value)
        assert secret not in caplog.text and secret not in repr(crm.__dict__)
    finally:
        crm.close()


def test_the_token_is_not_in_retry_logs(
        fake: tuple[str, SalesforceState], served: tuple[FakeServer, SalesforceState],
        caplog: pytest.LogCaptureFixture) -> None:
    url, state = fake
    server, _ = served
    caplog.set_level(logging.DEBUG)
    server.faults.set(0.5, ("429", "503", "drop"), seed=3)
    server.faults.retry_after = 0
    crm = SalesforceCRM(url, SecretStr(state.token),
                        retry=RetryPolicy(max_attempts=30, initial=0.01, max_wait=0.05))
    try:
        assert all(oks(crm.create_contacts([contact(k) for k in emails(20)])))
    finally:
        server.faults.set(0.0)
        server.faults.retry_after = 1
        crm.close()
    assert "retrying" in caplog.text
    assert state.token.split("!")[1] not in caplog.text


def test_retried_writes_after_dropped_answers_do_not_duplicate(
        fake: tuple[str, SalesforceState], served: tuple[FakeServer, SalesforceState]) -> None:
    url, state = fake
    server, _ = served
    crm = SalesforceCRM(url, SecretStr(state.token),
                        retry=RetryPolicy(max_attempts=40, initial=0.0, max_wait=0.01))
    keys = emails(600)
    try:
        server.faults.set(0.4, ("drop",), seed=7)
        assert all(oks(crm.create_contacts([contact(k, firstname="A") for k in keys])))
        assert crm.create_list("Expo").ok
        assert all(oks(crm.add_members("Expo", keys)))
        assert all(oks(crm.remove_members("Expo", keys[:100])))
        assert all(oks(crm.delete_contacts(keys[:50])))
        assert server.faults.injected.get("drop", 0) > 10
    finally:
        server.faults.set(0.0)
        crm.close()
    assert sorted(str(row["Email"]) for row in state.records("Contact")) == sorted(keys[50:])
    assert [row["Name"] for row in state.records("Campaign")] == ["Expo"]
    assert len(state.records("CampaignMember")) == 500


def test_describe_fields_maps_the_orgs_contact_fields(sf: SalesforceCRM) -> None:
    fields = {f.name: f for f in sf.describe_fields()}
    assert set(fields) == {"email", *salesforce.CONTACT_FIELDS}
    assert not fields["email"].writable and fields["utm_source"].writable


def test_a_bad_api_version_is_refused() -> None:
    with pytest.raises(ValueError, match="v62.0"):
        SalesforceCRM("https://x.invalid", SecretStr("t"), api_version="62")


def test_iteration_pages_past_a_query_batch(
        sf: SalesforceCRM, fake: tuple[str, SalesforceState]) -> None:
    _, state = fake
    state.limits.query_batch = 300
    keys = emails(700)
    sf.create_contacts([contact(k) for k in keys])
    sf.create_list("Newsletter")
    sf.add_members("Newsletter", keys)
    assert [r.key for r in sf.iter_contacts()] == sorted(keys)
    assert [k for _, k in sf.iter_memberships()] == sorted(keys)
    assert state.calls["GET /query/next"] >= 4
    assert sf.count_members("Newsletter") == 700


def _bearer(state: SalesforceState) -> dict[str, str]:
    return {"Authorization": f"Bearer {state.token}"}
