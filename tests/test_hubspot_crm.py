"""The HubSpot adapter against its fake: the conformance suite, and what is HubSpot's own
(207 per-item errors, the two kinds of 429, tokens refused, secrets kept out of sight)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.conformance.crm_suite import CRMConformance, contact, contents, emails, oks
from tools import hubspot
from tools.crm import CRM
from tools.fakes import hubspot as fake
from tools.fakes.hubspot import (
    DEFAULT_PROPERTIES,
    HubSpotState,
    Limits,
    PropertyDef,
    hubspot_app,
)
from tools.fakes.server import ASGIApp, FakeServer
from tools.http import AuthFailed
from tools.hubspot import DailyLimitReached, HubSpotCRM
from tools.records import Record
from tools.retry import RetriesExhausted, RetryPolicy

SPECS = Path(__file__).resolve().parents[2] / "shared/specs"
TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
ROOMY = Limits(per_window=100_000, window_seconds=10, daily=10_000_000)
FAST_RETRY = RetryPolicy(max_attempts=8, initial=0.01, max_wait=2.0, jitter=0.01)


def serve(app: ASGIApp) -> FakeServer:
    """A `FakeServer` for `app`, answering without Nagle's 40 ms stalls.

    asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, which FakeServer's
    listening socket (and so every accepted one) is not; Linux copies the option from the
    listening socket to those it accepts.
    """
    server = FakeServer(app)
    listening = getattr(server, "_socket", None)
    if isinstance(listening, socket.socket):
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


@pytest.fixture(scope="session")
def specs() -> Path:
    if not (SPECS / "hubspot/contacts.json").is_file():
        pytest.fail(f"HubSpot's OpenAPI specs are missing: expected them in {SPECS}/hubspot")
    return SPECS


class Portal:
    """A fake HubSpot portal served on 127.0.0.1, and an adapter connected to it."""

    def __init__(self, specs: Path, limits: Limits = ROOMY, *, retry: RetryPolicy = FAST_RETRY,
                 properties: Sequence[PropertyDef] = DEFAULT_PROPERTIES) -> None:
        self.state = HubSpotState(tokens=[TOKEN], limits=limits, properties=properties)
        self.server = serve(hubspot_app(self.state, specs))
        self.retry = retry
        self.crm: HubSpotCRM

    def __enter__(self) -> Portal:
        self.server.__enter__()
        self.crm = self.connect()
        return self

    def connect(self, token: str = TOKEN) -> HubSpotCRM:
        return HubSpotCRM(self.server.url, token=SecretStr(token), retry=self.retry)

    def __exit__(self, *exc: object) -> None:
        self.crm.close()
        self.server.__exit__(None, None, None)
        # Whatever else a test checked, the adapter never sent a shape HubSpot refuses.
        assert self.state.violations == [], [str(v) for v in self.state.violations]


@pytest.fixture
def portal(specs: Path) -> Iterator[Portal]:
    with Portal(specs) as running:
        yield running


class TestHubSpotConformance(CRMConformance):
    @pytest.fixture
    def crm(self, portal: Portal) -> Iterator[CRM]:
        yield portal.crm


def test_public_api() -> None:
    assert sorted(hubspot.__all__) == sorted([
        "DAILY_WAIT", "DEFAULT_URL", "PROPERTY_OF", "DailyLimitReached", "HubSpotCRM",
        "UnexpectedAnswer", "classify",
    ])
    assert sorted(fake.__all__) == sorted([
        "DEFAULT_PROPERTIES", "Contact", "ContactList", "HubSpotState", "Limits", "PropertyDef",
        "hubspot_app", "load_spec",
    ])


def test_every_mops_field_maps_to_a_property_of_the_fake() -> None:
    from tools.fields import CONTACT_FIELD_NAMES

    assert set(hubspot.PROPERTY_OF) == set(CONTACT_FIELD_NAMES)
    assert set(hubspot.PROPERTY_OF.values()) <= {p.name for p in DEFAULT_PROPERTIES}


# --- 207: per-item errors ------------------------------------------------------------------

def test_an_invalid_email_is_an_item_error_and_the_rest_is_written(portal: Portal) -> None:
    results = portal.crm.create_contacts([
        contact("ada@example.com", firstname="Ada"),
        contact("not an email", firstname="X"),
        contact("bob@example.com"),
    ])
    assert oks(results) == [True, False, True]
    assert results[1].error and "INVALID_EMAIL" in results[1].error
    assert sorted(portal.state.emails()) == ["ada@example.com", "bob@example.com"]


def test_a_property_the_portal_lacks_fails_per_item(specs: Path) -> None:
    without_utm = [p for p in DEFAULT_PROPERTIES if p.name != "utm_source"]
    with Portal(specs, properties=without_utm) as portal:
        names = [info.name for info in portal.crm.describe_fields()]
        assert "utm_source" not in names and "utm_medium" in names
        results = portal.crm.create_contacts([
            contact("ada@example.com", utm_source="news"),
            contact("bob@example.com", utm_medium="email"),
        ])
        assert oks(results) == [False, True]
        assert results[0].error and "utm_source" in results[0].error
        portal.crm.create_contacts([contact("ada@example.com")])
        updated = portal.crm.update_contacts([
            ("ada@example.com", {"utm_source": "x"}), ("bob@example.com", {"city": "Oslo"}),
        ])
        assert oks(updated) == [False, True]
        assert updated[0].error and "PROPERTY_DOESNT_EXIST" in updated[0].error


def test_batches_never_exceed_a_hundred_inputs(portal: Portal) -> None:
    keys = emails(250)
    assert all(oks(portal.crm.create_contacts([contact(k) for k in keys])))
    assert all(oks(portal.crm.delete_contacts(keys)))
    assert portal.state.refusals["400"] == 0


def test_the_fake_refuses_a_batch_of_more_than_a_hundred(portal: Portal) -> None:
    body = {"inputs": [{"id": f"{n}@x.example"} for n in range(101)], "idProperty": "email",
            "properties": ["email"], "propertiesWithHistory": []}
    answer = httpx.post(f"{portal.server.url}/crm/v3/objects/contacts/batch/read", json=body,
                        headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert "limit is 100" in answer.json()["message"]


def test_a_wrong_shape_is_refused_and_recorded(specs: Path) -> None:
    state = HubSpotState(tokens=[TOKEN])
    with serve(hubspot_app(state, specs)) as server:
        answer = httpx.post(f"{server.url}/crm/v3/objects/contacts/batch/read",
                            json={"inputs": [{"id": "a@x.example"}], "properties": ["email"]},
                            headers={"Authorization": f"Bearer {TOKEN}"})
        elsewhere = httpx.get(f"{server.url}/crm/v3/objects/contactz",
                              headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert "propertiesWithHistory" in answer.json()["message"]
    assert elsewhere.status_code == 404
    assert [v.path for v in state.violations] == [
        "/crm/v3/objects/contacts/batch/read", "/crm/v3/objects/contactz"]


def test_without_specs_the_fake_still_answers_a_bad_body_with_400(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = HubSpotState()   # any token
    with caplog.at_level(logging.WARNING), serve(hubspot_app(state, None)) as server:
        answer = httpx.post(f"{server.url}/crm/v3/objects/contacts/batch/upsert",
                            json={"inputs": [{"properties": {}}]},
                            headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 400 and state.violations == []
    assert "not checked" in caplog.text


# --- 429: the rolling window and the daily quota ------------------------------------------

def test_a_full_window_is_waited_out_and_retried(specs: Path) -> None:
    limits = Limits(per_window=4, window_seconds=0.2, daily=1_000_000)
    with Portal(specs, limits) as portal:
        keys = emails(300)
        assert all(oks(portal.crm.create_contacts([contact(k) for k in keys])))
        assert len(portal.crm.read_contacts(keys)) == 300
        assert portal.state.refusals["TEN_SECONDLY_ROLLING"] > 0
        assert sorted(portal.state.emails()) == sorted(keys)


def test_the_daily_limit_stops_at_once_without_spinning(specs: Path) -> None:
    with Portal(specs, retry=RetryPolicy(max_attempts=10, initial=0.01, max_wait=30)) as portal:
        portal.crm.create_contacts([contact("ada@example.com")])
        portal.state.use_up_the_day()
        started = time.monotonic()
        with pytest.raises(RetriesExhausted) as stopped:
            portal.crm.create_contacts([contact("bob@example.com")])
        assert time.monotonic() - started < 1
        assert isinstance(stopped.value.last, DailyLimitReached)
        assert stopped.value.attempts == 1
        assert "daily" in str(stopped.value) and "beyond the 30 s cap" in str(stopped.value)
        assert portal.state.refusals["DAILY"] == 1
        assert portal.state.emails() == ["ada@example.com"]


def test_the_daily_limit_can_surface_as_itself(specs: Path) -> None:
    with Portal(specs, retry=RetryPolicy(max_attempts=5, max_wait=30, give_up="raise")) as p:
        p.state.use_up_the_day()
        with pytest.raises(DailyLimitReached):
            p.crm.read_contacts(["ada@example.com"])


# --- tokens --------------------------------------------------------------------------------

def test_an_expired_token_fails_at_once(portal: Portal) -> None:
    portal.crm.create_contacts([contact("ada@example.com")])
    portal.state.expire(TOKEN)
    with pytest.raises(AuthFailed, match="401 EXPIRED_AUTHENTICATION"):
        portal.crm.read_contacts(["ada@example.com"])
    assert portal.state.refusals["401"] == 1, "not retried"


def test_an_unknown_token_fails(portal: Portal) -> None:
    other = portal.connect("pat-na1-wrong")
    try:
        with pytest.raises(AuthFailed, match="INVALID_AUTHENTICATION"):
            other.describe_fields()
    finally:
        other.close()


def test_the_token_appears_in_no_error_log_or_repr(
    specs: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG), Portal(
        specs, Limits(per_window=3, window_seconds=0.1, daily=1_000_000),
    ) as portal:
        portal.server.faults.set(0.2, ("429", "503", "drop"), seed=7)
        portal.server.faults.retry_after = 0
        results = portal.crm.create_contacts([contact(k) for k in emails(120)])
        results += portal.crm.create_contacts([contact("bad", firstname="x")])
        results += portal.crm.update_contacts([("nobody@example.com", {"city": "x"})])
        seen += [r.error or "" for r in results]
        seen.append(repr(portal.crm))
        portal.server.faults.set(0.0)
        portal.state.use_up_the_day()
        with pytest.raises(RetriesExhausted) as daily:
            portal.crm.read_contacts(["a@x.example"])
        seen.append(str(daily.value))
        portal.state.expire(TOKEN)
        with pytest.raises(AuthFailed) as refused:
            portal.crm.read_contacts(["a@x.example"])
        seen.append(str(refused.value))
    assert caplog.records, "the retries were logged"
    assert all(TOKEN not in text for text in seen)
    assert TOKEN not in caplog.text
    assert TOKEN.split("-", 2)[2] not in caplog.text


# --- lists and writes that are retried ----------------------------------------------------

def test_list_names_with_slashes_and_accents(portal: Portal) -> None:
    name = "Événements / 2026 — Q1"
    assert portal.crm.create_list(name).ok and portal.crm.list_exists(name)
    portal.crm.create_contacts([contact("ada@example.com")])
    assert oks(portal.crm.add_members(name, ["ada@example.com"])) == [True]
    assert list(portal.crm.iter_memberships()) == [(name, "ada@example.com")]
    assert portal.state.members(name) == {"ada@example.com"}


def test_a_dynamic_list_is_not_a_static_one(portal: Portal) -> None:
    with portal.state.lock:
        portal.state.lists["9"] = fake.ContactList(id="9", name="Active", processing_type="DYNAMIC")
    assert not portal.crm.list_exists("Active")
    assert list(portal.crm.iter_memberships()) == []
    assert portal.crm.create_list("Active").error == "list already exists"
    assert not portal.crm.add_members("Active", ["ada@example.com"])[0].ok


def test_writes_retried_after_dropped_answers_neither_fail_nor_duplicate(
    portal: Portal,
) -> None:
    portal.server.faults.set(0.3, ("drop", "503"), seed=3)
    keys = emails(400)
    crm = portal.crm
    assert all(oks(crm.create_contacts([contact(k, firstname="A") for k in keys])))
    assert all(crm.create_list(name).ok for name in ("One", "Two", "Three"))
    assert all(oks(crm.add_members("One", keys)))
    assert all(oks(crm.update_contacts([(k, {"city": "Oslo"}) for k in keys])))
    assert all(oks(crm.remove_members("One", keys[:100])))
    assert crm.delete_list("Two").ok
    assert all(oks(crm.delete_contacts(keys[:50])))
    portal.server.faults.set(0.0)
    assert portal.server.faults.injected.get("drop", 0) >= 3
    assert sorted(portal.state.emails()) == sorted(keys[50:])
    assert portal.state.members("One") == set(keys[100:])
    assert sorted(lst.name for lst in portal.state.lists.values()) == ["One", "Three"]
    assert contents(crm) == {k: {"firstname": "A", "city": "Oslo"} for k in keys[50:]}


def test_read_contacts_matches_an_address_given_back_in_another_case(portal: Portal) -> None:
    portal.crm.create_contacts([contact("ada@example.com", firstname="Ada")])
    # HubSpot lower-cases e-mails; the fake keeps them: mimic a portal that changed one.
    with portal.state.lock:
        record_id = portal.state.by_email.pop("ada@example.com")
        portal.state.by_email["Ada@Example.com"] = record_id
    found = portal.crm.read_contacts(["Ada@Example.com"])
    assert list(found) == ["Ada@Example.com"]
    assert found["Ada@Example.com"].fields == {"firstname": "Ada"}


def test_records_read_back_are_records(portal: Portal) -> None:
    portal.crm.create_contacts([Record(key="ada@example.com", fields={"lead_source": "Ads"})])
    assert contents(portal.crm) == {"ada@example.com": {"lead_source": "Ads"}}

