"""Who may act through the web app, the REST API and Slack: users, their roles and tokens.

The CLI acting on the local store does not go through here (it names its actor with `--as`);
every other door authenticates a user by token or Slack id and calls `require` before it
acts. Self-approval is refused by the gate itself (`Gate.decide`), whatever the door.

    ApprovalsError
    ├── UnknownUser     no user of that name
    ├── UserExists      the name (or the Slack id) is taken
    ├── InvalidUser     an empty name or an unknown role
    └── AccessDenied    the user may not do that: disabled, or the role does not allow it

Tokens are ``mops_`` + `secrets.token_urlsafe(32)` (256 random bits) and are shown once.
The store keeps only their SHA-256: for a high-entropy random token a plain, fast hash is
the standard for API tokens (GitHub's and others'); a slow password hash buys nothing when
the secret cannot be guessed, and a fast one lets the store look the user up by hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy.exc
from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select, update

from approvals import schema as t
from approvals.errors import ApprovalsError
from approvals.store import Store, aware, now

__all__ = [
    "AccessDenied", "Action", "InvalidUser", "Role", "UnknownUser", "User", "UserExists",
    "Users", "allowed", "require",
]

Role = Literal["requester", "approver", "admin"]
Action = Literal["view", "request", "approve", "reject", "rollback", "admin"]

ROLES: tuple[Role, ...] = get_args(Role)
ACTIONS: tuple[Action, ...] = get_args(Action)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    "requester": frozenset({"view", "request", "rollback"}),
    "approver": frozenset({"view", "request", "rollback", "approve", "reject"}),
    "admin": frozenset(ACTIONS),
}
TOKEN_PREFIX = "mops_"
MAX_TOKEN = 200          # longer than any token we issue: not worth hashing


class UnknownUser(ApprovalsError):
    """No user of that name exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no user {name!r}; see mops users list")


class UserExists(ApprovalsError):
    """A user of that name, or with that Slack id, exists already."""


class InvalidUser(ApprovalsError):
    """A user cannot be made as asked: an empty name or an unknown role."""


class AccessDenied(ApprovalsError):
    """A user may not do what they asked; the message says who, what and why."""


class User(BaseModel):
    """A person who may act through the web app, the REST API or Slack. No token here."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    slack_id: str | None
    enabled: bool
    created_at: datetime


def normalise(name: str) -> str:
    """One spelling per person, as `Settings.actor` does: "Alice " is "alice"."""
    return name.strip().lower()


def allowed(user: User, action: Action) -> bool:
    """Whether `user` may do `action`: requesters view, request and roll back; approvers
    also approve and reject; admins do everything. A disabled user may do nothing."""
    return user.enabled and action in PERMISSIONS.get(user.role, frozenset())


def require(user: User, action: Action) -> None:
    """Raise `AccessDenied` unless `user` is enabled and their role allows `action`."""
    if not user.enabled:
        raise AccessDenied(f"{user.name} may not {action}: the user is disabled")
    if not allowed(user, action):
        roles = " or ".join(r for r in ROLES if action in PERMISSIONS[r])
        raise AccessDenied(
            f"{user.name} may not {action}: that needs the role {roles}, "
            f"and {user.name} is a {user.role}")


class Users:
    """The users of one job store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, name: str, role: Role, slack_id: str | None = None) -> tuple[User, str]:
        """Make an enabled user; return it and its token, which is shown this once."""
        name, slack_id = normalise(name), _slack(slack_id)
        if not name:
            raise InvalidUser("a user needs a name")
        if role not in ROLES:
            raise InvalidUser(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        token = _new_token()
        try:
            with self.store.begin() as conn:
                if conn.execute(select(t.users.c.name).where(t.users.c.name == name)).first():
                    raise UserExists(f"a user {name!r} exists already")
                self._check_slack_free(conn, slack_id)
                conn.execute(insert(t.users).values(
                    name=name, role=role, slack_id=slack_id, token_hash=_hash(token),
                    enabled=True, created_at=now(), disabled_at=None))
        except sqlalchemy.exc.IntegrityError as exc:   # another process took it just now
            raise UserExists(f"a user {name!r} or Slack id {slack_id} exists already") from exc
        return self.get(name), token

    def get(self, name: str) -> User:
        """The user of that name; `UnknownUser` if there is none."""
        user = self._one(t.users.c.name == normalise(name))
        if user is None:
            raise UnknownUser(normalise(name))
        return user

    def list(self) -> list[User]:
        """Every user, enabled or not, by name."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.users).order_by(t.users.c.name)).mappings()
            return [_user(row) for row in rows]

    def disable(self, name: str) -> User:
        """Stop the user acting through any door; their token stops working. Idempotent."""
        user = self.get(name)
        if user.enabled:
            with self.store.begin() as conn:
                conn.execute(update(t.users).where(t.users.c.name == user.name).values(
                    enabled=False, disabled_at=now()))
        return self.get(user.name)

    def rotate(self, name: str) -> str:
        """A new token for the user, shown this once; the old one stops working."""
        user = self.get(name)
        if not user.enabled:
            raise AccessDenied(f"{user.name} is disabled; a new token would not work")
        token = _new_token()
        with self.store.begin() as conn:
            conn.execute(update(t.users).where(t.users.c.name == user.name).values(
                token_hash=_hash(token)))
        return token

    def authenticate(self, token: str) -> User | None:
        """The enabled user holding `token`; None for an unknown token or a disabled user."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            return None
        digest = _hash(token)
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.users).where(
                t.users.c.token_hash == digest)).mappings().first()
        # The look-up found it by hash already; compare again in constant time, so the
        # decision never rests on a comparison whose timing depends on the secret.
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        user = _user(row)
        return user if user.enabled else None

    def token_epoch(self, name: str) -> str | None:
        """A short fingerprint of the user's current token hash: a session keeps it, so a
        rotated token ends the sessions opened with the old one. None if no such user."""
        with self.store.engine.connect() as conn:
            found = conn.execute(select(t.users.c.token_hash).where(
                t.users.c.name == normalise(name))).scalar()
        return None if found is None else hashlib.sha256(found.encode()).hexdigest()[:16]

    def by_slack_id(self, slack_id: str) -> User | None:
        """The enabled user with that Slack id; None if unknown or disabled."""
        slack = _slack(slack_id)
        if slack is None:
            return None
        user = self._one(t.users.c.slack_id == slack)
        return user if user is not None and user.enabled else None

    def _one(self, where: Any) -> User | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.users).where(where)).mappings().first()
        return None if row is None else _user(row)

    def _check_slack_free(self, conn: Any, slack_id: str | None) -> None:
        if slack_id is None:
            return
        owner = conn.execute(select(t.users.c.name).where(
            t.users.c.slack_id == slack_id)).scalar_one_or_none()
        if owner is not None:
            raise UserExists(f"the Slack id {slack_id} belongs to {owner} already")


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _slack(slack_id: str | None) -> str | None:
    slack = (slack_id or "").strip()
    return slack or None


def _user(row: Any) -> User:
    return User(name=row["name"], role=row["role"], slack_id=row["slack_id"],
                enabled=bool(row["enabled"]), created_at=aware(row["created_at"]))
