"""The Slack app, served by the web server at ``POST /slack/events``.

    web = create_web(app)
    mount(web, app)          # adds POST /slack/events when [slack] is configured

One URL takes the slash command, the button clicks and dialogs (interactivity) and the
``file_shared`` event, as the manifest (`slack-app-manifest.yml`) sets them up. Each request
is checked first (`RequestGuard`: signature, age, replay); a request that fails gets 401 and
reaches nothing else. slack-bolt then checks the signature again and routes it to
`SlackDoor`; every Web API call goes through `slack_sdk.WebClient` at `slack.api_url`.

`process_before_response=True` runs the work before the answer is sent (tests, and
serverless hosts); the default acknowledges Slack first, as Slack wants an answer within
three seconds, and a list upload can take longer to plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App as BoltApp
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.concurrency import run_in_threadpool

from mops.app import App
from mops.settings import ConfigError, SlackSettings
from mops.slack import messages
from mops.slack.door import SlackDoor
from mops.slack.notify import MessageMap, SlackNotifier
from mops.slack.verify import RequestGuard, SeenInStore

log = logging.getLogger(__name__)
PATH = "/slack/events"


class SlackNotConfigured(ConfigError):
    """The [slack] settings are incomplete: the app needs its secret, token and channel."""


def configured(slack: SlackSettings) -> bool:
    """Whether Slack is switched on (a signing secret or token is set); `SlackNotConfigured`
    if it is only half set up."""
    given = {"signing_secret": slack.signing_secret, "bot_token": slack.bot_token,
             "channel": slack.channel}
    missing = [f"MOPS_SLACK__{name.upper()}" for name, value in given.items() if not value]
    if slack.signing_secret is None and slack.bot_token is None:
        return False
    if missing:
        raise SlackNotConfigured(f"the Slack app also needs {', '.join(missing)}")
    return True


def slack_door(app: App) -> SlackDoor:
    """The door over a configured Slack: its Web API client and its notifier."""
    slack = app.settings.slack
    configured(slack)
    assert slack.signing_secret and slack.bot_token and slack.channel
    client = WebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url)
    notifier = SlackNotifier(client, slack.channel, app.settings.web.public_url,
                             MessageMap(app.settings.home / "slack-messages.json"))
    return SlackDoor(app, client, notifier)


def watcher(app: App) -> Callable[[int], None]:
    """Keeps the channel in step with jobs whichever door or worker moves them: a job that
    comes to await approval gets its approval request; its message is updated as it moves
    on, and a thread reply says how it ended. (`Runtime.watchers`.)"""
    door = slack_door(app)
    return door.keep_in_step


def build_bolt(app: App, *, process_before_response: bool = False) -> BoltApp:
    """The slack-bolt app over the mops `app`, with its listeners."""
    slack = app.settings.slack
    assert slack.signing_secret is not None
    door = slack_door(app)
    client = door.client
    bolt = BoltApp(name="mops", signing_secret=slack.signing_secret.get_secret_value(),
                   client=client, process_before_response=process_before_response,
                   token_verification_enabled=False)    # no call to Slack until a request
    bolt.command("/mops")(door.command)
    bolt.action(messages.APPROVE)(door.approve)
    bolt.action(messages.REJECT)(door.reject)
    bolt.view(messages.REJECT_VIEW)(door.rejected)
    bolt.event("file_shared")(door.file_shared)
    return bolt


def mount(web: FastAPI, app: App, *, process_before_response: bool = False) -> None:
    """Add ``POST /slack/events`` to `web`; nothing if Slack is not configured."""
    slack = app.settings.slack
    if not configured(slack):
        log.info("Slack is not configured: no /slack/events")
        return
    assert slack.signing_secret is not None
    bolt = build_bolt(app, process_before_response=process_before_response)
    guard = RequestGuard(slack.signing_secret.get_secret_value(),
                         seen=SeenInStore(app.store))

    @web.post(PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # The replay check writes to the store: off the event loop, like the listeners.
        if not await run_in_threadpool(guard.admit, body, request.headers):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        # Listeners are synchronous (the store, the CRM): they run off the event loop.
        answer = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(answer)
