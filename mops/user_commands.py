"""`mops users …`: who may act through the web app, the REST API and Slack.

These commands act on the local job store, as every other command does; a token is printed
once, when it is made, and only its hash is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from approvals.users import Role, User, Users
from mops import output

users_cli = typer.Typer(no_args_is_help=True,
                        help="Users of the web app, REST API and Slack: roles and tokens.")
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object, nothing else.")]
Name = Annotated[str, typer.Argument(help="The user's name (case and spaces do not count).",
                                     show_default=False)]
WARNING = "this token will not be shown again: store it now (mops keeps only its hash)"


def user_view(user: User) -> dict[str, Any]:
    """A user for people and scripts: never a token."""
    return {"name": user.name, "role": user.role, "slack_id": user.slack_id,
            "enabled": user.enabled, "created_at": user.created_at.isoformat()}


@users_cli.command(name="add")
def add(
    name: Name,
    role: Annotated[Role, typer.Option(help="What the user may do: requester (view, request, "
                                       "roll back), approver (+ approve, reject), admin.")],
    slack_id: Annotated[str | None, typer.Option(
        "--slack-id", help="The user's Slack member id (U…), for the Slack app.")] = None,
    as_json: Json = False,
) -> None:
    """Add a user and print their API token, once.

    Example: mops users add bob --role approver --slack-id U024BE7LH
    """
    from mops.common import opened

    with opened() as app:
        user, token = Users(app.store).add(name, role, slack_id)
        _print_token(user, token, as_json, f"added {user.name} ({user.role})")


@users_cli.command(name="list")
def list_users(as_json: Json = False) -> None:
    """List the users, their roles and whether they are enabled (never a token).

    Example: mops users list --json
    """
    from mops.common import opened

    with opened() as app:
        views = [user_view(u) for u in Users(app.store).list()]
    if as_json:
        output.print_json(views)
        return
    table = Table("name", "role", "slack id", "enabled", "created")
    for v in views:
        table.add_row(v["name"], v["role"], v["slack_id"] or "-",
                      "yes" if v["enabled"] else "[red]no[/]", v["created_at"][:19])
    output.out.print(table)


@users_cli.command(name="disable")
def disable(name: Name, as_json: Json = False) -> None:
    """Disable a user: their token and Slack id stop working at once.

    Example: mops users disable carol
    """
    from mops.common import opened

    with opened() as app:
        user = Users(app.store).disable(name)
    if as_json:
        output.print_json(user_view(user))
    else:
        output.out.print(f"disabled {user.name}", highlight=False)


@users_cli.command(name="token")
def token(
    name: Name,
    rotate: Annotated[bool, typer.Option(
        "--rotate", help="Make a new token; the old one stops working.")] = False,
    as_json: Json = False,
) -> None:
    """Give a user a new API token (printed once); their old token stops working.

    Example: mops users token bob --rotate
    """
    from mops.common import opened

    if not rotate:
        output.fail("tokens are kept only as a hash and cannot be shown again; "
                    "pass --rotate for a new one", code=2)
    with opened() as app:
        users = Users(app.store)
        user = users.get(name)
        _print_token(user, users.rotate(user.name), as_json, f"new token for {user.name}")


def _print_token(user: User, token: str, as_json: bool, headline: str) -> None:
    if as_json:
        output.print_json({"name": user.name, "role": user.role, "token": token})
    else:
        output.out.print(headline, highlight=False)
        output.out.print(f"token: {token}", highlight=False, markup=False)
    output.err.print(f"[yellow]warning:[/] {WARNING}", highlight=False)
