"""Users, roles and tokens: only a known, enabled user with the needed role may act."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pydantic
import pytest
from sqlalchemy import select

import approvals.users
from approvals import schema as t
from approvals.errors import ApprovalRefused, ApprovalsError
from approvals.store import aware, now
from approvals.users import (
    ACTIONS,
    ROLES,
    AccessDenied,
    Action,
    InvalidUser,
    Role,
    UnknownUser,
    User,
    UserExists,
    Users,
    allowed,
    require,
)
from mops.app import App
from tests.helpers import upload, write_csv

# What each role may do; everything else it may not.
MATRIX: dict[Role, set[Action]] = {
    "requester": {"view", "request", "rollback"},
    "approver": {"view", "request", "rollback", "approve", "reject"},
    "admin": {"view", "request", "rollback", "approve", "reject", "admin"},
}


@pytest.fixture
def users(app: App) -> Users:
    return Users(app.store)


def person(role: Role, enabled: bool = True) -> User:
    return User(name="pat", role=role, slack_id=None, enabled=enabled,
                created_at=datetime(2026, 1, 1))


def test_the_public_api() -> None:
    assert sorted(approvals.users.__all__) == sorted([
        "AccessDenied", "Action", "InvalidUser", "Role", "UnknownUser", "User", "UserExists",
        "Users", "allowed", "require",
    ])
    for error in (AccessDenied, InvalidUser, UnknownUser, UserExists):
        assert issubclass(error, ApprovalsError)
    assert "token" not in " ".join(User.model_fields)


def test_add_get_list_and_the_token(users: Users) -> None:
    bob, token = users.add("bob", "approver", slack_id="U0BOB")
    alice, _ = users.add("alice", "requester")
    assert (bob.name, bob.role, bob.slack_id, bob.enabled) == ("bob", "approver", "U0BOB", True)
    assert bob.created_at.tzinfo is not None
    assert token.startswith("mops_") and len(token) >= 40
    assert users.get("bob") == bob
    assert users.list() == [alice, bob]
    assert users.authenticate(token) == bob
    assert users.by_slack_id("U0BOB") == bob
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        bob.role = "admin"  # type: ignore[misc]   # frozen


def test_the_store_holds_only_the_hash(app: App, users: Users) -> None:
    _, token = users.add("bob", "approver")
    with app.store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(t.users)).mappings()]
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    held = " ".join(str(v) for row in rows for v in row.values())
    assert token not in held and token.removeprefix("mops_") not in held


def test_unknown_and_malformed_tokens_authenticate_no_one(users: Users) -> None:
    _, token = users.add("bob", "approver")
    for wrong in ("", "mops_", token[:-1], token + "x", token.upper(), "x" * 10_000,
                  hashlib.sha256(token.encode()).hexdigest()):   # the hash is not a token
        assert users.authenticate(wrong) is None
    assert users.by_slack_id("") is None and users.by_slack_id("U0NOBODY") is None


def test_names_are_normalised_and_unique(users: Users) -> None:
    user, _ = users.add("  Alice ", "requester")
    assert user.name == "alice"
    assert users.get("ALICE") == users.get(" alice") == user
    with pytest.raises(UserExists, match="'alice' exists"):
        users.add("alice", "admin")
    users.add("dave", "requester", slack_id="U1")
    with pytest.raises(UserExists, match="Slack id U1 belongs to dave"):
        users.add("carol", "requester", slack_id=" U1 ")
    assert [u.name for u in users.list()] == ["alice", "dave"]


def test_bad_names_and_roles_are_refused(users: Users) -> None:
    with pytest.raises(InvalidUser, match="needs a name"):
        users.add("  ", "requester")
    with pytest.raises(InvalidUser, match="unknown role 'owner'"):
        users.add("eve", "owner")  # type: ignore[arg-type]
    with pytest.raises(UnknownUser, match="no user 'nobody'"):
        users.get("Nobody")
    for act in (users.disable, users.rotate):
        with pytest.raises(UnknownUser):
            act("nobody")
    assert users.list() == []


def test_a_disabled_user_is_nobody_at_every_door(users: Users) -> None:
    _, token = users.add("carol", "admin", slack_id="U0CAROL")
    carol = users.disable("Carol")
    assert not carol.enabled and users.get("carol") == carol
    assert users.authenticate(token) is None
    assert users.by_slack_id("U0CAROL") is None
    assert users.disable("carol") == carol                       # idempotent
    with pytest.raises(AccessDenied, match="carol is disabled"):
        users.rotate("carol")
    assert users.authenticate(token) is None
    for action in ACTIONS:
        assert not allowed(carol, action)
        with pytest.raises(AccessDenied, match="carol may not .*disabled"):
            require(carol, action)


def test_rotate_kills_the_old_token(users: Users) -> None:
    bob, old = users.add("bob", "approver")
    new = users.rotate("BOB")
    assert new != old and new.startswith("mops_")
    assert users.authenticate(old) is None
    assert users.authenticate(new) == bob
    newer = users.rotate("bob")
    assert users.authenticate(new) is None and users.authenticate(newer) == bob


def test_tokens_are_distinct(users: Users) -> None:
    tokens = {users.add(f"u{i}", "requester")[1] for i in range(20)}
    assert len(tokens) == 20
    assert {users.authenticate(tok).name for tok in tokens} == {  # type: ignore[union-attr]
        f"u{i}" for i in range(20)}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_role_matrix(role: Role, action: Action) -> None:
    user = person(role)
    assert allowed(user, action) is (action in MATRIX[role])
    if action in MATRIX[role]:
        require(user, action)
    else:
        with pytest.raises(AccessDenied, match=f"pat may not {action}: that needs the role"):
            require(user, action)
    assert not allowed(person(role, enabled=False), action)


def test_refusal_says_who_what_and_why() -> None:
    with pytest.raises(AccessDenied) as refused:
        require(person("requester"), "approve")
    assert str(refused.value) == ("pat may not approve: that needs the role approver or "
                                  "admin, and pat is a requester")


def test_an_approver_still_cannot_approve_their_own_job(app: App, users: Users,
                                                        tmp_path: Path) -> None:
    bob, token = users.add("bob", "approver")
    job = upload(app, write_csv(tmp_path / "l.csv", "email\na@example.com\n"), user="bob")
    acting = users.authenticate(token)
    assert acting == bob
    require(acting, "approve")                        # the role allows it...
    with pytest.raises(ApprovalRefused, match="bob requested job"):
        app.jobs.decide(job, acting.name, "approve", door="web")  # ...the gate does not
    assert app.store.get(job).state == "awaiting_approval"
    assert app.runtime.gate.decisions(job) == []


def test_a_decision_records_the_user_the_door_the_time_and_the_digest(
        app: App, users: Users, tmp_path: Path) -> None:
    carol, token = users.add("carol", "approver", slack_id="U0CAROL")
    job = upload(app, write_csv(tmp_path / "l.csv", "email\na@example.com\n"), user="alice")
    acting = users.by_slack_id("U0CAROL")
    assert acting == carol
    require(acting, "approve")
    digest = app.store.get(job).digest
    assert app.jobs.decide(job, acting.name, "approve", digest=digest,
                           door="slack").state == "succeeded"
    [decision] = app.runtime.gate.decisions(job)
    assert (decision.actor, decision.door, decision.digest) == ("carol", "slack", digest)
    assert abs((aware(decision.at) - now()).total_seconds()) < 60

