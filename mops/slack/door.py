"""What the Slack app does for each request: the listeners behind `/mops`, the buttons, the
reject dialog and shared files. Requests reach them only once verified (`verify`).

Each listener first finds the mops user of the Slack user (`Users.by_slack_id`) and checks
their role (`approvals.users.require`); a Slack user who is not a mops user, or is disabled,
gets an ephemeral refusal and nothing is done. Decisions go through `Jobs.decide` with
``door="slack"`` and the digest the message showed, so the gate applies its rules (never
your own job, never a plan that changed) as it does for every door.
"""

from __future__ import annotations

import logging
from itertools import islice
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from agents.intents import Proposal, Query, Question, parse
from agents.requests import JobRequest, RollbackParams
from agents.utm_fix import UtmFixParams
from approvals.store import Job
from approvals.users import Action, User, Users, allowed, require
from mops.app import App
from mops.common import USER_ERRORS
from mops.slack import files, messages
from mops.slack.commands import Ask, Help, Status, parse_command
from mops.slack.notify import SlackNotifier
from mops.views import job_view
from tools.changes import Change
from tools.where import parse_where

log = logging.getLogger(__name__)
TARGET = "sandbox"          # the CRM a Slack request works on, as the CLI's default
ACTIONS: dict[str, Action] = {"rollback": "rollback"}     # job kind -> action; else request


class SlackDoor:
    """The mops side of the Slack app."""

    def __init__(self, app: App, client: WebClient, notifier: SlackNotifier) -> None:
        self.app, self.client, self.notifier = app, client, notifier
        self.users = Users(app.store)
        self.folder = files.uploads(app.settings.home)

    # -- /mops ----------------------------------------------------------------------------

    def command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """`/mops TEXT`: help, a job's status, or a request in words."""
        user = self.users.by_slack_id(str(body.get("user_id", "")))
        if user is None:
            ack(unknown_user(str(body.get("user_id", ""))))
            return
        command = parse_command(str(body.get("text", "")))
        try:
            if isinstance(command, Help):
                ack(command.text)
            elif isinstance(command, Status):
                require(user, "view")
                ack(self._status(command.job))
            else:
                self._ask(user, command, ack, respond)
        except (*USER_ERRORS, files.BadFile) as exc:
            ack(f":no_entry: {self._said(exc)}")

    def _ask(self, user: User, command: Ask, ack: Ack, respond: Respond) -> None:
        understood = parse(command.text, known_files=lambda name: files.known(self.folder, name))
        if isinstance(understood, Question):
            ack(messages.escape(understood.text))
        elif isinstance(understood, Query):
            require(user, "view")
            ack()
            respond(self._count(understood))
        else:
            require(user, ACTIONS.get(understood.params.kind, "request"))
            params = files.resolve(understood.params, self.folder)
            ack(f":hourglass: Planning: {messages.escape(understood.explanation)}")
            try:                                   # after ack: answers go to response_url
                job = self._request(user, understood.model_copy(update={"params": params}))
            except USER_ERRORS as exc:
                respond(f":x: {self._said(exc)}")
                return
            respond(self._announce(job))

    def _request(self, user: User, proposal: Proposal) -> Job:
        params = proposal.params
        if isinstance(params, RollbackParams):
            return self.app.jobs.rollback(params.of_job, user.name, source="chat")
        target = params.target(TARGET) if isinstance(params, UtmFixParams) else TARGET
        return self.app.jobs.request(JobRequest(params=params, requested_by=user.name,
                                                source="chat", target=target))

    def _announce(self, job: Job) -> str:
        """Post the approval request of a planned job; what to tell its requester."""
        view, examples = self._present(job.job)
        if job.state == "awaiting_approval":
            if self.notifier.posted.get(job.job) is None:   # the watcher may have posted it
                self.notifier.post_approval(view, examples)
            return (f"Job {job.job} is planned; its approval request is in "
                    f"<#{self.notifier.channel}>. Someone else has to approve it.")
        return f"Job {job.job}: {job.state.replace('_', ' ')} · {messages.outcome(view)}"

    def _status(self, job: int) -> str:
        view = job_view(self.app.store, self.app.runtime.gate, self.app.store.get(job), 0)
        counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in view["summary"].items()
                           if v) or "no changes"
        return (f"{messages.fallback(view)}\n{messages.escape(counts)} · "
                f"{messages.outcome(view)} · "
                f"<{messages.job_url(self.notifier.public_url, job)}|details>")

    def _count(self, query: Query) -> str:
        where = parse_where(query.where) if query.where else None
        crm = self.app.connect(TARGET)
        try:
            count = sum(1 for r in crm.iter_contacts()
                        if where is None or where.matches({**r.fields, "email": r.key}))
        finally:
            crm.close()
        return messages.escape(f"{count:,} contact(s)" + (f" where {where}" if where else ""))

    # -- buttons and the reject dialog ----------------------------------------------------

    def approve(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The Approve button: approve the plan the message showed, then run it."""
        ack()
        job, digest = messages.read_value(body["actions"][0]["value"])
        user = self.users.by_slack_id(str(body["user"]["id"]))
        if user is None:
            respond(unknown_user(body["user"]["id"]), replace_original=False)
            return
        before = None
        try:
            before = self._view(job)
            require(user, "approve")
            self.app.jobs.decide(job, user.name, "approve", digest=digest, door="slack")
        except USER_ERRORS as exc:
            respond(f":no_entry: {self._said(exc)}", replace_original=False)
        finally:
            if before is not None and self._view(job) != before:   # decided, or moved on
                self.sync(job)

    def reject(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The Reject button: ask why, in a dialog (the gate wants a reason)."""
        ack()
        job, digest = messages.read_value(body["actions"][0]["value"])
        user = self.users.by_slack_id(str(body["user"]["id"]))
        if user is None or not allowed(user, "reject"):
            text = unknown_user(body["user"]["id"]) if user is None else \
                f":no_entry: {messages.escape(user.name)} may not reject jobs"
            respond(text, replace_original=False)
            return
        self.client.views_open(trigger_id=body["trigger_id"],
                               view=messages.reject_modal(job, digest))

    def rejected(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The reject dialog sent: reject with its reason, or show why not in the dialog."""
        job, digest = messages.read_value(view["private_metadata"])
        reason = view["state"]["values"][messages.REASON_BLOCK][messages.REASON_INPUT]["value"]
        user = self.users.by_slack_id(str(body["user"]["id"]))
        try:
            if user is None:
                raise PermissionError(unknown_user(body["user"]["id"]))
            require(user, "reject")
            self.app.jobs.decide(job, user.name, "reject", digest=digest, comment=reason,
                                 door="slack")
        except (*USER_ERRORS, PermissionError) as exc:
            ack(response_action="errors", errors={messages.REASON_BLOCK: str(exc)[:150]})
            return
        ack()
        self.sync(job)

    # -- shared files ---------------------------------------------------------------------

    def file_shared(self, event: dict[str, Any]) -> None:
        """A file shared where the app is: keep a CSV (or TOML) a requester shared."""
        user = self.users.by_slack_id(str(event.get("user_id", "")))
        if user is None or not allowed(user, "request"):
            return
        shared = files.SharedFile.model_validate(
            self.client.files_info(file=event["file_id"])["file"])
        if not shared.name.lower().endswith(files.SHAREABLE):
            return                        # pictures and such are none of our business
        slack = self.app.settings.slack
        assert slack.bot_token is not None
        try:
            kept = files.download(shared, slack.bot_token.get_secret_value(), slack.api_url,
                                  self.folder)
            text = (f"Kept {messages.escape(kept.name)}. Now, for example: "
                    f"`/mops upload {messages.escape(kept.name)} to the Expo 2026 list`")
        except files.BadFile as exc:
            text = f":no_entry: {messages.escape(exc)}"
        self.client.chat_postEphemeral(channel=event["channel_id"], user=event["user_id"],
                                       text=text)

    # -- the approval message -------------------------------------------------------------

    def sync(self, job: int) -> None:
        """Bring the job's message in the channel up to date (and reply when it ends)."""
        view, examples = self._present(job)
        self.notifier.sync(view, examples)

    def keep_in_step(self, job: int) -> None:
        """Post the approval request of a job that awaits approval and has none yet; else
        bring its message up to date."""
        if (self.app.store.get(job).state == "awaiting_approval"
                and self.notifier.posted.get(job) is None):
            view, examples = self._present(job)
            self.notifier.post_approval(view, examples)
        else:
            self.sync(job)

    def _present(self, job: int) -> tuple[dict[str, Any], list[Change]]:
        changes = self.app.runtime.rows.changes(job, limit=messages.EXAMPLES)
        return self._view(job), [c for _, _, c in islice(changes, messages.EXAMPLES)]

    def _view(self, job: int) -> dict[str, Any]:
        return job_view(self.app.store, self.app.runtime.gate, self.app.store.get(job), 0)

    def _said(self, exc: BaseException) -> str:
        """An error for Slack: escaped, without the server's folder names."""
        return messages.escape(str(exc).replace(f"{self.folder}/", ""))


def unknown_user(slack_id: str) -> str:
    """The refusal for a Slack user who is not an enabled mops user."""
    who = messages.escape(slack_id)
    return (f":no_entry: You are not a mops user (Slack id {who}), so mops does nothing for "
            f"you. Ask a mops admin to run `mops users add NAME --role requester --slack-id "
            f"{who}`.")
