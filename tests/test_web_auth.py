"""Authorisation of every route and action of the web door, pages and API alike: no token,
a wrong token, a disabled user, the wrong role, self-approval, a missing or wrong CSRF token
— each refused (401 or 403), and the store, the ledger and the CRM are exactly as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from approvals import ledger
from approvals.users import Users
from mops.app import App
from mops.web import create_web
from tests.helpers import crm_of, make_app, upload, write_csv
from tests.helpers import snapshot as crm_snapshot
from tests.test_web_pages import csrf_of, login

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Every route that acts for a user, by (method, route), with the URL each test calls.
PAGES = {
    ("GET", "/"): "/?state=awaiting_approval",
    ("GET", "/jobs/new"): "/jobs/new",
    ("POST", "/jobs/new"): "/jobs/new",
    ("GET", "/jobs/{job}"): "/jobs/{waiting}?offset=0",
    ("POST", "/jobs/{job}/approve"): "/jobs/{waiting}/approve",
    ("POST", "/jobs/{job}/reject"): "/jobs/{waiting}/reject",
    ("POST", "/jobs/{job}/rollback"): "/jobs/{done}/rollback",
    ("GET", "/log"): "/log?job={done}",
    ("GET", "/log/export"): "/log/export?format=csv",
}
API = {
    ("GET", "/api/me"): "/api/me",
    ("GET", "/api/jobs"): "/api/jobs",
    ("GET", "/api/jobs/{job}"): "/api/jobs/{waiting}",
    ("GET", "/api/jobs/{job}/plan"): "/api/jobs/{waiting}/plan",
    ("GET", "/api/jobs/{job}/changes"): "/api/jobs/{waiting}/changes",
    ("POST", "/api/jobs/{job}/approve"): "/api/jobs/{waiting}/approve",
    ("POST", "/api/jobs/{job}/reject"): "/api/jobs/{waiting}/reject",
    ("POST", "/api/jobs/{job}/rollback"): "/api/jobs/{done}/rollback",
    ("GET", "/api/log"): "/api/log?user=bob",
    ("GET", "/api/log/export"): "/api/log/export?format=jsonl",
}
SESSION = {("POST", "/login"), ("POST", "/logout")}       # forms that need no user, but CSRF
PUBLIC = {("GET", "/health"), ("GET", "/login"), ("GET", "/api/openapi.json")}
DECISIONS = [("POST", "/jobs/{job}/approve"), ("POST", "/jobs/{job}/reject"),
             ("POST", "/api/jobs/{job}/approve"), ("POST", "/api/jobs/{job}/reject")]
PAGE_POSTS = sorted([r for r in PAGES if r[0] == "POST"] + list(SESSION))


@dataclass
class World:
    """alice's job awaiting approval (`waiting`), alice's job bob approved (`done`); users
    alice and bob (approvers), carol (requester) and dave (an approver, now disabled)."""

    app: App
    web: FastAPI
    waiting: int
    done: int
    digest: str
    tokens: dict[str, str]
    dave_cookie: str
    dave_csrf: str
    before: Any = None

    def url(self, route: tuple[str, str]) -> str:
        return (PAGES | API)[route].format(waiting=self.waiting, done=self.done)

    def client(self, cookie: str | None = None) -> TestClient:
        client = TestClient(self.web)
        if cookie:
            client.cookies.set("mops_session", cookie)
        return client

    def call(self, client: TestClient, route: tuple[str, str], *, csrf: str | None = None,
             token: str | None = None, auth: str | None = None) -> Any:
        """Call `route` as a valid request would, but for the credentials given."""
        method, url = route[0], self.url(route) if route not in SESSION else route[1]
        headers = {"Authorization": auth or f"Bearer {token}"} if (auth or token) else {}
        if method == "GET":
            return client.get(url, headers=headers)
        if url.startswith("/api/"):
            return client.post(url, headers=headers,
                               json={"digest": self.digest, "comment": "looks right"})
        form = {"digest": self.digest, "comment": "looks right", "token": self.tokens["bob"]}
        return client.post(url, data=form | ({"csrf": csrf} if csrf is not None else {}),
                           follow_redirects=False)


def state(app: App) -> Any:
    """Everything a refused request must leave as it was."""
    jobs = app.store.jobs()
    crm = crm_of(app)
    try:
        return ([j.model_dump() for j in jobs],
                [[d.model_dump() for d in app.runtime.gate.decisions(j.job)] for j in jobs],
                [app.store.history(j.job) for j in jobs],
                [e.model_dump() for e in ledger.entries(app.store)],
                [u.model_dump() for u in Users(app.store).list()], crm_snapshot(crm))
    finally:
        crm.close()


@pytest.fixture(scope="module", params=STORES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[World]:
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            from tests.pg import throwaway_database

            url = stack.enter_context(throwaway_database("mops_test_web_auth"))
        home: Path = tmp_path_factory.mktemp("web-auth")
        app = make_app(home / "home", url)
        stack.callback(app.close)
        users = Users(app.store)
        tokens = {name: users.add(name, role)[1] for name, role in (
            ("alice", "approver"), ("bob", "approver"), ("carol", "requester"),
            ("dave", "approver"))}
        leads = write_csv(home / "leads.csv", "email,firstname\na@example.com,Ann\n")
        done = upload(app, leads, user="alice")
        app.jobs.decide(done, "bob", "approve")
        waiting = upload(app, write_csv(home / "more.csv", "email\nb@example.com\n"), "More",
                         user="alice")
        web = create_web(app, background=False)
        dave = TestClient(web)
        dave_csrf = login(dave, tokens["dave"])
        dave_cookie = dave.cookies["mops_session"]
        users.disable("dave")
        digest = app.store.get(waiting).digest
        assert digest
        made = World(app, web, waiting, done, digest, tokens, dave_cookie, dave_csrf)
        made.before = state(app)
        yield made


@pytest.fixture(autouse=True)
def nothing_changed(world: World) -> Iterator[None]:
    """After every test here: the store, the ledger, the users and the CRM are untouched."""
    yield
    assert state(world.app) == world.before


def bob(world: World) -> tuple[TestClient, str]:
    client = world.client()
    return client, login(client, world.tokens["bob"])


def routes(of: list[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers (kept apart in newer FastAPI)."""
    for route in of:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from routes(included.routes)
        elif isinstance(route, APIRoute | Route):
            yield from ((m, route.path) for m in route.methods or () if m != "HEAD")


def test_every_route_is_covered(world: World) -> None:
    assert set(routes(world.web.routes)) == set(PAGES) | set(API) | SESSION | PUBLIC


def test_public_routes_need_no_login(world: World) -> None:
    client = world.client()
    for _, url in sorted(PUBLIC):
        assert client.get(url).status_code == 200, url
    assert client.get("/static/style.css").status_code == 200


def test_a_user_with_the_role_may_read_everything(world: World) -> None:
    """The control: the refusals below are about credentials, not broken routes."""
    client, _ = bob(world)
    for route in [r for r in PAGES if r[0] == "GET"]:
        assert world.call(client, route).status_code == 200, route
    for route in [r for r in API if r[0] == "GET"]:
        assert world.call(client, route, token=world.tokens["bob"]).status_code == 200, route


@pytest.mark.parametrize("route", sorted(PAGES))
def test_pages_refuse_without_a_session(world: World, route: tuple[str, str]) -> None:
    client = world.client()
    anonymous_csrf = csrf_of(client.get("/login").text)    # a valid CSRF token, but no user
    answer = world.call(client, route, csrf=anonymous_csrf)
    assert answer.status_code == 401 and "Log in" in answer.text


@pytest.mark.parametrize("route", sorted(PAGES))
def test_pages_refuse_a_disabled_user(world: World, route: tuple[str, str]) -> None:
    client = world.client(world.dave_cookie)
    answer = world.call(client, route, csrf=world.dave_csrf)
    assert answer.status_code == 401 and "session has ended" in answer.text


@pytest.mark.parametrize("route", sorted(API))
@pytest.mark.parametrize("auth", ["none", "wrong", "basic", "disabled", "cookie"])
def test_api_refuses_without_a_valid_token(world: World, route: tuple[str, str],
                                           auth: str) -> None:
    client, _ = bob(world) if auth == "cookie" else (world.client(), "")
    header = {"none": None, "cookie": None, "wrong": "Bearer mops_not-a-token",
              "basic": f"Basic {world.tokens['bob']}",
              "disabled": f"Bearer {world.tokens['dave']}"}[auth]
    answer = world.call(client, route, auth=header)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", DECISIONS)
def test_a_requester_cannot_decide(world: World, route: tuple[str, str]) -> None:
    client = world.client()
    csrf = login(client, world.tokens["carol"]) if route[1].startswith("/jobs") else None
    answer = world.call(client, route, csrf=csrf, token=world.tokens["carol"])
    assert answer.status_code == 403 and "needs the role approver or admin" in answer.text


@pytest.mark.parametrize("route", [r for r in DECISIONS if r[1].endswith("approve")])
def test_the_requester_cannot_approve_their_own_job(world: World,
                                                    route: tuple[str, str]) -> None:
    client = world.client()
    csrf = login(client, world.tokens["alice"]) if route[1].startswith("/jobs") else None
    answer = world.call(client, route, csrf=csrf, token=world.tokens["alice"])
    assert answer.status_code == 403 and "cannot approve it" in answer.text


@pytest.mark.parametrize("route", PAGE_POSTS)
@pytest.mark.parametrize("csrf", ["missing", "empty", "wrong", "another session's"])
def test_every_form_post_needs_the_session_csrf_token(world: World, route: tuple[str, str],
                                                      csrf: str) -> None:
    client, own = bob(world)
    other = csrf_of(world.client().get("/login").text)
    sent = {"missing": None, "empty": "", "wrong": own[:-2] + "xx",
            "another session's": other}[csrf]
    answer = world.call(client, route, csrf=sent)
    assert answer.status_code == 403 and "security token" in answer.text
    assert client.get("/").status_code == 200          # bob is still logged in, as bob
    assert "bob · approver" in client.get("/").text
