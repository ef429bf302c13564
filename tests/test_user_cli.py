"""`mops users …` as people and scripts use them: a token is printed once, never stored."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
import typer
from typer.testing import CliRunner

from approvals.users import Users
from mops.app import App, build
from mops.cli import cli
from mops.user_commands import users_cli

Run = Callable[..., str]
COMMANDS = ("add", "list", "disable", "token")


def _with_users() -> typer.Typer:
    """`mops` itself once it has `users`; until then, a local app holding only `users`."""
    if any(group.name == "users" for group in cli.registered_groups):
        return cli
    local = typer.Typer()
    local.add_typer(users_cli, name="users")
    return local


@pytest.fixture
def users(mops: Run) -> Run:
    """`users(*args, code=0)`: run `mops users …` on the `mops` fixture's fresh home."""
    runner, app = CliRunner(), _with_users()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["users", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result.stdout if code == 0 else result.stderr

    return run


@pytest.fixture
def store(users: Run) -> Iterator[App]:
    """The app on the same home, to look at what the commands left in the store."""
    built = build()
    yield built
    built.close()


def test_add_prints_the_token_once_with_a_warning(users: Run, store: App) -> None:
    runner = CliRunner()
    result = runner.invoke(_with_users(), ["users", "add", "Bob", "--role", "approver",
                                           "--slack-id", "U0BOB"])
    assert result.exit_code == 0, result.stderr
    assert "added bob (approver)" in result.stdout
    token = result.stdout.split("token: ")[1].strip()
    assert "will not be shown again" in result.stderr
    assert Users(store.store).authenticate(token) == Users(store.store).get("bob")
    listed = users("list") + users("list", "--json")
    assert "bob" in listed and token not in listed and "U0BOB" in listed


def test_add_as_json(users: Run, store: App) -> None:
    made = json.loads(users("add", "alice", "--role", "requester", "--json"))
    assert sorted(made) == ["name", "role", "token"]
    assert made["name"] == "alice" and made["role"] == "requester"
    assert Users(store.store).authenticate(made["token"]).name == "alice"  # type: ignore[union-attr]
    [alice] = json.loads(users("list", "--json"))
    assert alice["name"] == "alice" and alice["enabled"] is True and alice["slack_id"] is None
    assert "token" not in alice


def test_rotate_and_disable(users: Run, store: App) -> None:
    old = json.loads(users("add", "carol", "--role", "admin", "--json"))["token"]
    err = users("token", "carol", code=2)
    assert "--rotate" in err and len(err.strip().splitlines()) == 1
    new = json.loads(users("token", "CAROL", "--rotate", "--json"))
    assert new["name"] == "carol" and new["token"] != old
    people = Users(store.store)
    assert people.authenticate(old) is None and people.authenticate(new["token"]) is not None
    assert "new token for carol" in users("token", "carol", "--rotate")
    assert "disabled carol" in users("disable", "carol")
    assert json.loads(users("list", "--json"))[0]["enabled"] is False
    assert json.loads(users("disable", "carol", "--json"))["enabled"] is False


@pytest.mark.parametrize(("args", "message"), [
    (("disable", "nobody"), "no user 'nobody'"),
    (("token", "nobody", "--rotate"), "no user 'nobody'"),
    (("add", "alice", "--role", "admin"), "'alice' exists already"),
    (("add", "dave", "--role", "admin", "--slack-id", "U1"), "U1 belongs to alice"),
])
def test_errors_are_one_line_and_exit_1(users: Run, args: tuple[str, ...],
                                        message: str) -> None:
    users("add", "alice", "--role", "requester", "--slack-id", "U1")
    err = users(*args, code=1)
    assert message in err and len(err.strip().splitlines()) == 1
    assert len(json.loads(users("list", "--json"))) == 1        # nothing changed


def test_a_disabled_user_gets_no_new_token(users: Run) -> None:
    users("add", "eve", "--role", "requester")
    users("disable", "eve")
    err = users("token", "eve", "--rotate", code=1)
    assert "eve is disabled" in err and "mops_" not in err


def test_an_unknown_role_is_a_usage_error(users: Run) -> None:
    assert "owner" in users("add", "eve", "--role", "owner", code=2)
    assert json.loads(users("list", "--json")) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(users: Run, command: str) -> None:
    assert f"Example: mops users {command}" in users(command, "--help")
