"""Who is acting, for the pages and for the API.

Pages: the login form takes a user's token, `Users.authenticate` checks it, and the session
(a cookie signed by Starlette's `SessionMiddleware`) holds only the user's name. Every
request reads the user again, so one disabled a moment ago is refused at once. Every form
carries the session's CSRF token in a hidden field (a synchronizer token) and every POST,
the login form's included, is refused unless it matches.

API: `Authorization: Bearer <token>` on every call. The API never reads the session cookie,
so a page on another site cannot make a person's browser call it with their credentials
(a browser adds cookies to cross-site requests by itself, never an Authorization header);
that is why API calls need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Form
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from approvals.users import Action, UnknownUser, User, Users, require


class NotAuthenticated(Exception):
    """No user, an unknown or expired token, or a user who has been disabled: 401."""


class CsrfRefused(Exception):
    """A form post without the session's CSRF token: 403, and nothing is done."""


bearer = HTTPBearer(auto_error=False, description="A user's token (`mops users add`).")


def allowed_to(who: Callable[..., User], action: Action) -> Callable[..., User]:
    """A dependency: the user `who` finds (`Auth.session_user` or `Auth.bearer_user`), once
    their role allows `action` (else 403)."""
    # `Depends` as the default, not in the annotation: annotations here are strings, and
    # FastAPI cannot resolve one that names this closure's `who`.
    def user_allowed(user: User = Depends(who)) -> User:  # noqa: B008
        require(user, action)
        return user
    return user_allowed


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """A dependency of every page POST: the form's token must be the session's."""
    expected = request.session.get("csrf")
    if not csrf or not isinstance(expected, str) or not hmac.compare_digest(
            csrf.encode(), expected.encode()):
        raise CsrfRefused("the form is missing its security token or it has expired; "
                          "reload the page and try again")


class Auth:
    """Finds the acting user: from the session (pages) or the bearer token (API)."""

    def __init__(self, users: Users) -> None:
        self.users = users

    def login(self, request: Request, token: str) -> User:
        """Start a session for the token's user (a fresh session and CSRF token)."""
        user = self.users.authenticate(token.strip())
        if user is None:
            raise NotAuthenticated("that token does not belong to an enabled user")
        request.session.clear()
        request.session.update(user=user.name, csrf=secrets.token_urlsafe(32),
                               epoch=self.users.token_epoch(user.name))
        return user

    def session_user(self, request: Request) -> User:
        """The logged-in user, still known and enabled; else the session ends (401)."""
        name = request.session.get("user")
        if not isinstance(name, str):
            raise NotAuthenticated("log in with your token")
        try:
            user = self.users.get(name)
        except UnknownUser:
            user = None
        if (user is None or not user.enabled
                or request.session.get("epoch") != self.users.token_epoch(name)):
            request.session.clear()          # disabled, or its token rotated since login
            raise NotAuthenticated("your session has ended; log in again")
        return user

    def bearer_user(self, credentials: Annotated[
            HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
        """The user whose token is in the Authorization header (cookies are ignored)."""
        user = None if credentials is None else self.users.authenticate(credentials.credentials)
        if user is None:
            raise NotAuthenticated("send 'Authorization: Bearer <token>' with a valid token "
                                   "of an enabled user")
        return user
