"""Every request from Slack is checked before anything reads it: its signature, its age and
that it has not been seen before.

Slack signs ``v0:{timestamp}:{body}`` with the app's signing secret (HMAC-SHA256) into
``X-Slack-Signature``. A request unsigned, badly signed, or whose timestamp is more than
five minutes away from now is refused, as Slack's documentation asks; and so is a second
arrival of a request already taken (same signature) within those five minutes, so a
captured request cannot be played again. The signatures seen are kept in this process.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping

from slack_sdk.signature import SignatureVerifier

WINDOW = 5 * 60     # seconds, either way


class RequestGuard:
    """Admits each correctly signed, fresh request once."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._clock, self._lock = clock, threading.Lock()
        self._seen: dict[str, float] = {}       # signature -> its request's timestamp

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
        with self._lock:
            self._forget_before(now - WINDOW)
            if signature in self._seen:
                return False
            self._seen[signature] = int(stamp)
        return True

    def _forget_before(self, oldest: float) -> None:
        """Drop signatures too old to be admitted anyway (their timestamp has expired)."""
        for signature in [s for s, at in self._seen.items() if at < oldest]:
            del self._seen[signature]
