"""The Slack door: `/mops`, approval requests with Approve / Reject buttons, shared CSVs.

`mount(web, app)` serves it from the web app at ``POST /slack/events``; `SlackNotifier`
posts and updates the approval requests. See `app` for how a request is handled.
"""

from mops.slack.app import SlackNotConfigured, build_bolt, mount
from mops.slack.notify import MessageMap, SlackNotifier

__all__ = ["MessageMap", "SlackNotConfigured", "SlackNotifier", "build_bolt", "mount"]
