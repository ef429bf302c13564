"""The Slack door: signed slash commands and button clicks drive a job to its end, against a
fake Slack Web API; unsigned, badly signed, stale and replayed requests do nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from approvals.users import Users
from mops.app import App, build
from mops.settings import Settings, SlackSettings, Target, WebSettings
from mops.slack import MessageMap, SlackNotConfigured, mount
from mops.slack import messages as m
from mops.slack.commands import Ask, Help, Status, parse_command
from tests.helpers import crm_of, write_csv
from tools.changes import Change
from tools.fakes.server import FakeServer
from tools.fakes.slack import SlackState, slack_app

Response = Any      # the test client's response (httpx's, or httpx2's in newer Starlette)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test"
CHANNEL = "C0MOPS"
PUBLIC = "https://mops.example"
LEADS = "email,firstname\nann@example.com,Ann\nben@example.com,<!channel>\n"


@dataclass
class Slack:
    """A signed-request client for the app, the fake Slack behind it, and the mops app."""

    client: TestClient
    state: SlackState
    app: App
    url: str
    n: int = 0

    def post(self, body: str, *, content_type: str = "application/x-www-form-urlencoded",
             ts: int | None = None, secret: str = SECRET, sign: bool = True) -> Response:
        """POST `body` to /slack/events, signed as Slack signs it (unless told otherwise)."""
        ts = int(time.time()) if ts is None else ts
        headers = {"content-type": content_type}
        if sign:
            base = f"v0:{ts}:{body}".encode()
            headers["x-slack-request-timestamp"] = str(ts)
            headers["x-slack-signature"] = "v0=" + hmac.new(
                secret.encode(), base, hashlib.sha256).hexdigest()
        return self.client.post("/slack/events", content=body, headers=headers)

    def command(self, user: str, text: str, **kw: Any) -> Response:
        """`/mops TEXT` typed by Slack user `user`."""
        return self.post(self.command_body(user, text), **kw)

    def command_body(self, user: str, text: str) -> str:
        self.n += 1
        return urlencode({
            "token": "legacy", "team_id": "T0MOPS", "team_domain": "mops-test",
            "channel_id": CHANNEL, "channel_name": "mops", "user_id": user,
            "user_name": user.lower(), "command": "/mops", "text": text,
            "response_url": f"{self.url}/respond/c{self.n}", "trigger_id": f"t{self.n}",
            "api_app_id": "A0MOPS"})

    def click(self, user: str, action: str, value: str, **kw: Any) -> Response:
        """Slack user `user` clicks the button `action` carrying `value`."""
        self.n += 1
        payload = {
            "type": "block_actions", "team": {"id": "T0MOPS", "domain": "mops-test"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0MOPS"},
            "api_app_id": "A0MOPS", "token": "legacy", "trigger_id": f"t{self.n}",
            "container": {"type": "message", "message_ts": "1700000000.000001",
                          "channel_id": CHANNEL, "is_ephemeral": False},
            "channel": {"id": CHANNEL, "name": "mops"},
            "response_url": f"{self.url}/respond/a{self.n}",
            "actions": [{"type": "button", "action_id": action, "block_id": "decide",
                         "value": value, "action_ts": str(time.time())}]}
        return self.post(urlencode({"payload": json.dumps(payload)}), **kw)

    def submit_reject(self, user: str, private_metadata: str, reason: str) -> Response:
        """Slack user `user` sends the reject dialog with `reason`."""
        payload = {
            "type": "view_submission", "team": {"id": "T0MOPS", "domain": "mops-test"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0MOPS"},
            "api_app_id": "A0MOPS", "token": "legacy", "trigger_id": "t-view",
            "view": {"id": "V0MOPS", "type": "modal", "callback_id": m.REJECT_VIEW,
                     "private_metadata": private_metadata, "team_id": "T0MOPS",
                     "state": {"values": {m.REASON_BLOCK: {m.REASON_INPUT: {
                         "type": "plain_text_input", "value": reason}}}}}}
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def replies(self) -> list[str]:
        """What was said to users through response URLs, oldest first."""
        return [str(c.get("text", "")) for c in self.state.calls_of("respond")]

    def approval_value(self) -> str:
        """The Approve button's value in the (last) approval request posted."""
        message = self.state.calls_of("chat.postMessage")[-1]
        buttons = [b for b in message["blocks"] if b["type"] == "actions"][0]["elements"]
        return str(buttons[0]["value"])


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[Slack]:
    state = SlackState(token=TOKEN, channels={CHANNEL})
    with FakeServer(slack_app(state)) as server:
        app = build(Settings(
            home=tmp_path / "home", user="tester", targets={"sandbox": Target()},
            web=WebSettings(public_url=PUBLIC),
            slack=SlackSettings(signing_secret=SecretStr(SECRET), bot_token=SecretStr(TOKEN),
                                channel=CHANNEL, api_url=f"{server.url}/api/")))
        users = Users(app.store)
        users.add("alice", "approver", slack_id="UALICE")   # may approve, not her own
        users.add("bob", "approver", slack_id="UBOB")
        users.add("carol", "requester", slack_id="UCAROL")
        (tmp_path / "home" / "uploads").mkdir()
        write_csv(tmp_path / "home" / "uploads" / "leads.csv", LEADS)
        web = FastAPI()
        mount(web, app, process_before_response=True)
        with TestClient(web) as client:
            yield Slack(client, state, app, server.url)
        app.close()


def planned(slack: Slack) -> int:
    """alice asks for an upload; the job it made."""
    answer = slack.command("UALICE", "upload leads.csv to the Expo list")
    assert answer.status_code == 200, answer.text
    assert "Planning" in answer.text
    [job] = slack.app.store.jobs()
    assert job.state == "awaiting_approval"
    return job.job


def test_a_slash_command_and_a_click_drive_a_job_to_its_end(slack: Slack) -> None:
    job = planned(slack)
    assert f"Job {job} is planned" in slack.replies()[-1]
    [posted] = slack.state.calls_of("chat.postMessage")
    assert posted["channel"] == CHANNEL
    text = json.dumps(posted["blocks"])
    assert f"{PUBLIC}/jobs/{job}" in text and "ann@example.com" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text     # data is escaped
    digest = slack.app.store.get(job).digest
    assert m.read_value(slack.approval_value()) == (job, digest)

    answer = slack.click("UBOB", m.APPROVE, slack.approval_value())
    assert answer.status_code == 200, answer.text
    done = slack.app.store.get(job)
    assert done.state == "succeeded"
    [decision] = slack.app.runtime.gate.decisions(job)
    assert (decision.actor, decision.verdict, decision.door, decision.digest) == (
        "bob", "approve", "slack", digest)
    crm = crm_of(slack.app)
    try:
        assert sorted(crm.iter_memberships()) == [("Expo", "ann@example.com"),
                                                  ("Expo", "ben@example.com")]
    finally:
        crm.close()
    update = slack.state.calls_of("chat.update")[-1]      # updated as the job moved on
    ts = slack.state.calls_of("chat.postMessage")[0]
    message = slack.state.messages[(CHANNEL, update["ts"])]
    assert message["edited"] and "succeeded" in message["text"]
    assert not [b for b in message["blocks"] if b["type"] == "actions"]   # no more buttons
    thread = slack.state.calls_of("chat.postMessage")[-1]
    assert thread["thread_ts"] == update["ts"] and "succeeded" in thread["text"]
    assert ts["channel"] == CHANNEL
    saved = MessageMap(slack.app.settings.home / "slack-messages.json").get(job)
    assert saved is not None and saved.ts == update["ts"] and saved.finished


def test_the_requester_cannot_approve_their_own_job(slack: Slack) -> None:
    job = planned(slack)
    calls = len(slack.state.calls)
    assert slack.click("UALICE", m.APPROVE, slack.approval_value()).status_code == 200
    assert "cannot approve" in slack.replies()[-1]
    assert slack.app.store.get(job).state == "awaiting_approval"
    assert slack.app.runtime.gate.decisions(job) == []
    assert [c.method for c in slack.state.calls[calls:]] == ["respond"]   # no update


def test_a_requester_role_may_not_approve(slack: Slack) -> None:
    job = planned(slack)
    slack.click("UCAROL", m.APPROVE, slack.approval_value())
    assert "carol may not approve" in slack.replies()[-1]
    assert slack.app.store.get(job).state == "awaiting_approval"


def test_a_click_on_a_changed_plan_is_refused(slack: Slack) -> None:
    job = planned(slack)
    slack.click("UBOB", m.APPROVE, m.button_value(job, "0" * 64))
    assert "digest" in slack.replies()[-1]
    assert slack.app.store.get(job).state == "awaiting_approval"
    assert slack.app.runtime.gate.decisions(job) == []


def test_reject_asks_why_and_records_it(slack: Slack) -> None:
    job = planned(slack)
    assert slack.click("UBOB", m.REJECT, slack.approval_value()).status_code == 200
    [opened] = slack.state.calls_of("views.open")
    metadata = opened["view"]["private_metadata"]
    assert slack.app.store.get(job).state == "awaiting_approval"   # nothing until a reason
    assert slack.submit_reject("UBOB", metadata, "wrong list").status_code == 200
    assert slack.app.store.get(job).state == "rejected"
    [decision] = slack.app.runtime.gate.decisions(job)
    assert (decision.actor, decision.comment, decision.door) == ("bob", "wrong list", "slack")
    assert "rejected by bob" in json.dumps(slack.state.calls_of("chat.update")[-1]["blocks"])


def test_reject_without_a_reason_is_shown_in_the_dialog(slack: Slack) -> None:
    job = planned(slack)
    answer = slack.submit_reject("UBOB", m.button_value(job, slack.app.store.get(job).digest
                                                        or ""), " ")
    assert answer.json()["response_action"] == "errors"
    assert slack.app.store.get(job).state == "awaiting_approval"


def test_a_slack_user_without_a_mops_user_is_refused(slack: Slack) -> None:
    answer = slack.command("UNOBODY", "upload leads.csv to the Expo list")
    assert answer.status_code == 200 and "not a mops user" in answer.text
    assert "mops users add NAME --role requester --slack-id UNOBODY" in answer.text
    assert slack.app.store.jobs() == []
    job = planned(slack)
    slack.click("UNOBODY", m.APPROVE, slack.approval_value())
    assert "not a mops user" in slack.replies()[-1]
    assert slack.app.store.get(job).state == "awaiting_approval"


@pytest.mark.parametrize("case", ["unsigned", "bad signature", "stale", "future", "bad stamp"])
def test_unverified_requests_get_401_and_do_nothing(slack: Slack, case: str) -> None:
    body = slack.command_body("UALICE", "upload leads.csv to the Expo list")
    now = int(time.time())
    if case == "bad stamp":
        answer = slack.client.post("/slack/events", content=body, headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": "soon", "x-slack-signature": "v0=00"})
    else:
        answer = slack.post(body, sign=case != "unsigned",
                            secret="not-the-secret" if case == "bad signature" else SECRET,
                            ts={"stale": now - 301, "future": now + 301}.get(case, now))
    assert answer.status_code == 401
    assert slack.app.store.jobs() == [] and slack.state.calls == []


def test_a_replayed_request_gets_401_and_does_nothing(slack: Slack) -> None:
    job = planned(slack)
    click = urlencode({"payload": json.dumps({
        "type": "block_actions", "team": {"id": "T0MOPS"}, "user": {"id": "UBOB"},
        "api_app_id": "A0MOPS", "token": "legacy", "trigger_id": "t",
        "response_url": f"{slack.url}/respond/x", "channel": {"id": CHANNEL},
        "actions": [{"type": "button", "action_id": m.REJECT, "block_id": "decide",
                     "value": slack.approval_value()}]})})
    ts = int(time.time())
    assert slack.post(click, ts=ts).status_code == 200
    calls = len(slack.state.calls)
    assert slack.post(click, ts=ts).status_code == 401      # the same signed request again
    assert len(slack.state.calls) == calls
    command = slack.command_body("UALICE", "upload leads.csv to the Expo list")
    assert slack.post(command, ts=ts).status_code == 200
    assert slack.post(command, ts=ts).status_code == 401
    assert len(slack.app.store.jobs()) == 2 and slack.app.store.get(job).state == \
        "awaiting_approval"


def test_status_help_and_questions(slack: Slack) -> None:
    job = planned(slack)
    status = slack.command("UCAROL", f"status {job}").text
    assert "awaiting approval" in status and f"{PUBLIC}/jobs/{job}" in status
    assert "no job 99" in slack.command("UCAROL", "status 99").text
    assert "/mops upload" in slack.command("UCAROL", "help").text
    assert "Which list" in slack.command("UCAROL", "upload leads.csv").text
    assert "cannot find" in slack.command("UCAROL", "upload nope.csv to the X list").text
    slack.command("UCAROL", "how many contacts have no country?")
    assert "0 contact(s)" in slack.replies()[-1]
    assert len(slack.app.store.jobs()) == 1


@pytest.mark.parametrize("name", ["../mops.db", "/etc/passwd.csv", "../../leads.csv"])
def test_only_shared_files_can_be_named(slack: Slack, name: str) -> None:
    answer = slack.command("UALICE", f"upload {name} to the Expo list")
    assert answer.status_code == 200
    assert slack.app.store.jobs() == []


def test_a_shared_csv_is_kept_and_can_be_uploaded(slack: Slack) -> None:
    slack.state.files["F1"] = ("expo.csv", b"email\ncat@example.com\n")
    event = json.dumps({
        "token": "legacy", "team_id": "T0MOPS", "api_app_id": "A0MOPS",
        "type": "event_callback", "event_id": "Ev1", "event_time": int(time.time()),
        "event": {"type": "file_shared", "file_id": "F1", "user_id": "UALICE",
                  "channel_id": CHANNEL, "file": {"id": "F1"}, "event_ts": "1.2"}})
    assert slack.post(event, content_type="application/json").status_code == 200
    kept = slack.app.settings.home / "uploads" / "expo.csv"
    assert kept.read_bytes() == b"email\ncat@example.com\n"
    assert "expo.csv" in slack.state.calls_of("chat.postEphemeral")[-1]["text"]
    slack.command("UALICE", "upload expo.csv to the Expo list")
    [job] = slack.app.store.jobs()
    assert job.state == "awaiting_approval" and job.summary["create"] == 1


def test_slack_is_off_until_configured(tmp_path: Path) -> None:
    app = build(Settings(home=tmp_path, targets={"sandbox": Target()}))
    web = FastAPI()
    mount(web, app)
    assert TestClient(web).post("/slack/events").status_code == 404
    half = SlackSettings(signing_secret=SecretStr(SECRET))
    with pytest.raises(SlackNotConfigured, match="MOPS_SLACK__BOT_TOKEN"):
        mount(web, app.__class__(app.settings.model_copy(update={"slack": half}),
                                 app.runtime, app.jobs))
    app.close()


def test_commands_are_read_as_the_parser_reads_them() -> None:
    assert parse_command("") == Help() and parse_command(" help ") == Help()
    assert parse_command("status 12") == Status(12)
    assert isinstance(parse_command("status x"), Help)
    assert parse_command("rollback 3") == Ask("roll back job 3")
    assert parse_command("utm-fix ads.csv with utm.toml") == Ask(
        "fix the utms ads.csv with utm.toml")


def test_messages_escape_data_and_cut_long_values() -> None:
    view = {"job": 7, "kind": "list_upload", "state": "awaiting_approval",
            "requested_by": "a<b", "target": "sandbox", "digest": "d" * 64,
            "summary": {"create": 1}, "fields": ["firstname"], "notes": ["<@U1> & co"],
            "decisions": [], "progress": {"applied": 0, "failed": 0, "total": 1},
            "error": None}
    change = Change(op="create", object="contact", key="x@example.com",
                    after={"firstname": "<!here>" + "y" * 100})
    text = json.dumps(m.approval(view, [change] * 9, PUBLIC))
    assert "<!here>" not in text and "<@U1>" not in text and "a&lt;b" in text
    assert text.count("x@example.com") == m.EXAMPLES and "y" * 100 not in text
    assert m.read_value(m.button_value(7, "d" * 64)) == (7, "d" * 64)
    with pytest.raises(ValueError):
        m.read_value('{"job": "7"}')


def test_a_job_moved_by_another_door_keeps_its_message_in_step(slack: Slack) -> None:
    """Requested and approved from the CLI: the channel still gets the approval request,
    its update and the thread reply."""
    from agents.requests import JobRequest, ListUploadParams

    upload = slack.app.settings.home / "uploads" / "leads.csv"
    job = slack.app.jobs.request(JobRequest(
        params=ListUploadParams(file=str(upload), list="Expo"), requested_by="carol"))
    [posted] = slack.state.calls_of("chat.postMessage")
    assert posted["channel"] == CHANNEL and f"/jobs/{job.job}" in json.dumps(posted["blocks"])
    slack.app.jobs.decide(job.job, "bob", "approve", door="cli")
    assert slack.app.store.get(job.job).state == "succeeded"
    message = slack.state.messages[(CHANNEL, slack.state.calls_of("chat.update")[-1]["ts"])]
    assert "succeeded" in message["text"]
    thread = slack.state.calls_of("chat.postMessage")[-1]
    assert thread.get("thread_ts") and "succeeded" in thread["text"]
