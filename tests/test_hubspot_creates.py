"""HubSpot creates: one batch create per hundred records, the careful fallback when HubSpot
refuses the batch, and a create whose answer was lost, read back and never resent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.conformance.crm_suite import contact, contents, emails, oks
from tests.test_hubspot_crm import FAST_RETRY, ROOMY, TOKEN, Portal, portal, serve, specs
from tools.fakes.hubspot import Contact, HubSpotState, hubspot_app
from tools.fakes.server import ASGIApp
from tools.hubspot import HubSpotCRM
from tools.results import EXISTS

__all__ = ["portal", "specs"]   # the fixtures, shared with test_hubspot_crm


# --- creates: one request per hundred, and what happens when that one goes wrong -----------

def test_new_contacts_take_one_request_per_hundred(portal: Portal) -> None:
    before = portal.state.requests
    assert all(oks(portal.crm.create_contacts([contact(k) for k in emails(250)])))
    assert portal.state.requests - before == 3


def test_a_taken_key_fails_alone_and_keeps_its_values(portal: Portal) -> None:
    portal.crm.create_contacts([contact("ada@example.com", firstname="Ada")])
    results = portal.crm.create_contacts([contact("bob@example.com", firstname="Bob"),
                                          contact("ada@example.com", firstname="Eve")])
    assert oks(results) == [True, False] and results[1].error == EXISTS
    assert portal.state.refusals["409"] == 1     # the batch create; then item by item
    assert contents(portal.crm) == {"ada@example.com": {"firstname": "Ada"},
                                    "bob@example.com": {"firstname": "Bob"}}


class LoseFirstCreate:
    """An ASGI wrapper that loses the answer to the first batch create: dropped after HubSpot
    carried it out ("carried-out"), dropped before it reached HubSpot ("never-arrived"), or
    carried out and answered 502 by a gateway ("gateway-502")."""

    def __init__(self, app: ASGIApp, how: str) -> None:
        self.app, self.how, self.lost = app, how, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.lost or scope.get("path") != "/crm/v3/objects/contacts/batch/create":
            await self.app(scope, receive, send)
            return
        self.lost += 1

        async def cut(message: Any) -> None:
            if message["type"] == "http.response.start":
                await send({**message, "headers": [(b"content-length", b"100000")]})
            else:
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise ConnectionAbortedError("answer lost")

        async def gateway(message: Any) -> None:
            if message["type"] == "http.response.start":
                await send({"type": "http.response.start", "status": 502, "headers": []})
            elif not message.get("more_body"):
                await send({"type": "http.response.body", "body": b"Bad Gateway"})

        if self.how == "carried-out":
            await self.app(scope, receive, cut)
        elif self.how == "gateway-502":
            await self.app(scope, receive, gateway)
        else:
            await cut({"type": "http.response.start", "status": 201})
            await cut({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize("how", ["carried-out", "never-arrived", "gateway-502"])
def test_a_create_whose_answer_was_lost_is_read_back_not_resent(specs: Path, how: str) -> None:
    state = HubSpotState(tokens=[TOKEN], limits=ROOMY)
    app = LoseFirstCreate(hubspot_app(state, specs), how)
    with serve(app) as server:
        crm = HubSpotCRM(server.url, token=SecretStr(TOKEN), retry=FAST_RETRY)
        try:
            results = crm.create_contacts([contact(k, firstname="A") for k in emails(5)])
        finally:
            crm.close()
    assert app.lost == 1 and all(oks(results))
    assert sorted(state.emails()) == sorted(emails(5))     # each once
    # The create (if it arrived), then the read back; then, if it made nothing, the upsert.
    assert state.requests == 2
    assert state.violations == []


def test_a_lost_create_does_not_claim_contacts_that_were_there_before(specs: Path) -> None:
    state = HubSpotState(tokens=[TOKEN], limits=ROOMY)
    with state.lock:         # a contact from long ago
        old = Contact(id=state.new_id(), properties={"email": "old@example.com",
                                                     "firstname": "Old"},
                      created_at="2020-01-01T00:00:00.000Z")
        state.contacts[old.id] = old
        state.by_email["old@example.com"] = old.id
    app = LoseFirstCreate(hubspot_app(state, specs), "carried-out")   # a 409, then lost
    with serve(app) as server:
        crm = HubSpotCRM(server.url, token=SecretStr(TOKEN), retry=FAST_RETRY)
        try:
            results = crm.create_contacts([contact("old@example.com", firstname="New"),
                                           contact("new@example.com", firstname="New")])
            assert contents(crm) == {"old@example.com": {"firstname": "Old"},
                                     "new@example.com": {"firstname": "New"}}
        finally:
            crm.close()
    assert app.lost == 1 and state.refusals["409"] == 1
    assert oks(results) == [False, True] and results[0].error == EXISTS
