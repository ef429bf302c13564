"""Errors of the Marketo adapter.

    ToolError
    ├── AuthFailed (tools.http)     the credentials, or a token fresh from them, were refused
    ├── TokenRejected               601/602 on one call: the client fetches a new token, once
    └── SystemFault
        ├── Transient (tools.retry) retried: transport errors, 429/5xx, Marketo 604, 606,
        │                           608, 611, 614, 615, 713; 607 (daily quota) carries the
        │                           time to the quota's reset, beyond any cap: it stops at once
        └── MarketoError            any other call-level error (6xx/7xx): not retried

Messages name the method, the path, Marketo's code and its message; never a credential.
"""

from __future__ import annotations

from tools.errors import SystemFault, ToolError


class TokenRejected(ToolError):
    """Marketo refused the access token of one call (601 invalid, 602 expired)."""


class MarketoError(SystemFault):
    """Marketo answered a call with ``success: false`` and an error that retrying won't fix."""

    def __init__(self, where: str, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{where}: Marketo error {code}: {message}")
