"""Approval requests in the Slack channel, kept up to date as their jobs move on.

`SlackNotifier` posts a job's approval request, edits it when the job is decided or runs,
and replies in its thread when the job has finished. Which message belongs to which job is
kept in `MessageMap`: a small JSON file in MOPS_HOME (`slack-messages.json`), so a restart
still finds the messages to update. All calls go through `slack_sdk.WebClient`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from approvals.states import FINAL
from mops.slack import messages
from tools.changes import Change


@dataclass(frozen=True)
class Posted:
    """Where a job's approval request is, and whether its end has been announced."""

    channel: str
    ts: str
    finished: bool = False


class MessageMap:
    """job -> its message, written through to a JSON file (if a path is given) and read
    again whenever the file changed, so every door and worker sharing `MOPS_HOME` sees the
    messages the others posted."""

    def __init__(self, path: Path | None = None) -> None:
        self.path, self._lock = path, threading.Lock()
        self._posted: dict[int, Posted] = {}
        self._seen: int | None = None

    def get(self, job: int) -> Posted | None:
        """The job's message, if one was posted."""
        with self._lock:
            self._reload()
            return self._posted.get(job)

    def put(self, job: int, posted: Posted) -> None:
        """Remember the job's message (and save the map)."""
        with self._lock:
            self._reload()
            self._posted[job] = posted
            if self.path is not None:
                tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps({str(k): asdict(v) for k, v in self._posted.items()}),
                               encoding="utf-8")
                os.replace(tmp, self.path)     # never a half-written map
                self._seen = self.path.stat().st_mtime_ns

    def _reload(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        changed = self.path.stat().st_mtime_ns
        if changed != self._seen:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._posted = {int(job): Posted(**value) for job, value in raw.items()}
            self._seen = changed


class SlackNotifier:
    """Posts and updates approval requests in `channel`, linking to the web app."""

    def __init__(self, client: WebClient, channel: str, public_url: str,
                 posted: MessageMap | None = None) -> None:
        self.client, self.channel, self.public_url = client, channel, public_url
        self.posted = posted or MessageMap()

    def post_approval(self, view: dict[str, Any], examples: Iterable[Change] = ()) -> str:
        """Post the approval request of a job (a `job_view`); return the message's ts."""
        answer = self.client.chat_postMessage(
            channel=self.channel, text=messages.fallback(view), unfurl_links=False,
            blocks=messages.approval(view, examples, self.public_url))
        ts = str(answer["ts"])
        self.posted.put(view["job"], Posted(str(answer["channel"]), ts))
        return ts

    def update(self, view: dict[str, Any], ts: str | None = None,
               examples: Iterable[Change] = ()) -> None:
        """Show the job's current state in its message (no buttons once it is decided)."""
        posted = self._posted(view["job"], ts)
        self.client.chat_update(channel=posted.channel, ts=posted.ts,
                                text=messages.fallback(view),
                                blocks=messages.approval(view, examples, self.public_url))

    def reply_finished(self, view: dict[str, Any], ts: str | None = None) -> None:
        """Say in the message's thread how the job ended (once)."""
        posted = self._posted(view["job"], ts)
        self.client.chat_postMessage(channel=posted.channel, thread_ts=posted.ts,
                                     text=messages.finished(view, self.public_url),
                                     unfurl_links=False)
        self.posted.put(view["job"], Posted(posted.channel, posted.ts, finished=True))

    def sync(self, view: dict[str, Any], examples: Iterable[Change] = ()) -> None:
        """Bring the job's message up to date, and announce its end once it has one.
        A job with no message in Slack is left alone."""
        posted = self.posted.get(view["job"])
        if posted is None:
            return
        self.update(view, posted.ts, examples)
        if view["state"] in FINAL and not posted.finished:
            self.reply_finished(view, posted.ts)

    def _posted(self, job: int, ts: str | None) -> Posted:
        known = self.posted.get(job)
        if ts is not None:
            return known if known is not None and known.ts == ts else Posted(self.channel, ts)
        if known is None:
            raise LookupError(f"job {job} has no message in Slack")
        return known
