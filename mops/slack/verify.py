"""Every request from Slack is checked before anything reads it: its signature, its age and
that it has not been seen before.

Slack signs ``v0:{timestamp}:{body}`` with the app's signing secret (HMAC-SHA256) into
``X-Slack-Signature``. A request unsigned, badly signed, or whose timestamp is more than
five minutes away from now is refused, as Slack's documentation asks; and so is a second
arrival of a request already taken (same signature) within those five minutes, so a
captured request cannot be played again. The signatures taken are kept where every process
of the web app sees them (`SeenInStore`: the job store), or, by default, in this process.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import delete, text

from approvals import schema as t
from approvals.store import Store

WINDOW = 5 * 60     # seconds, either way


class Seen(Protocol):
    """The signatures of requests already taken."""

    def first(self, signature: str, stamp: int, oldest: float) -> bool:
        """Note `signature` (of a request stamped `stamp`) as taken; whether it is new.
        Signatures stamped before `oldest` may be forgotten: they are refused as stale."""
        ...


class SeenHere:
    """Signatures taken by this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}       # signature -> its request's timestamp

    def first(self, signature: str, stamp: int, oldest: float) -> bool:
        """As `Seen.first`."""
        with self._lock:
            for old in [s for s, at in self._seen.items() if at < oldest]:
                del self._seen[old]
            if signature in self._seen:
                return False
            self._seen[signature] = stamp
            return True


class SeenInStore:
    """Signatures taken, in the job store: one record for every process of the web app."""

    _TAKE = text("INSERT INTO slack_requests (signature, stamp) VALUES (:signature, :stamp) "
                 "ON CONFLICT DO NOTHING")

    def __init__(self, store: Store) -> None:
        self.store = store

    def first(self, signature: str, stamp: int, oldest: float) -> bool:
        """As `Seen.first`: the insert of the signature wins once, in one transaction.
        Signatures are kept a window longer than needed, so a process whose clock runs
        ahead never forgets one another process, behind it, would still admit."""
        keep_from = int(oldest) - WINDOW
        with self.store.begin() as conn:
            conn.execute(delete(t.slack_requests).where(t.slack_requests.c.stamp < keep_from))
            taken = conn.execute(self._TAKE, {"signature": signature, "stamp": stamp})
            return taken.rowcount == 1


class RequestGuard:
    """Admits each correctly signed, fresh request once."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time,
                 seen: Seen | None = None) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._clock = clock
        self._seen = seen or SeenHere()

    def admit(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether to act on this request; a True answer is given once per signature."""
        stamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not stamp.isdigit() or not signature:
            return False
        now = self._clock()
        if abs(now - int(stamp)) > WINDOW:
            return False
        expected = self._verifier.generate_signature(timestamp=stamp, body=body)
        if expected is None or not hmac.compare_digest(expected.encode(), signature.encode()):
            return False
        return self._seen.first(signature, int(stamp), now - WINDOW)
