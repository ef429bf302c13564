"""Block Kit messages: the approval request (and its later states), and short replies.

Everything that comes from data (list names, emails, field values, notes, user names) is
escaped for Slack's mrkdwn (`&`, `<`, `>`), so a value can never turn into a mention
(`<!channel>`) or a link. The buttons carry the job id and the plan digest the message
shows: a click decides on that plan, and the gate refuses it if the plan has changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tools.changes import Change

APPROVE, REJECT = "mops_approve", "mops_reject"
REJECT_VIEW, REASON_BLOCK, REASON_INPUT = "mops_reject_reason", "reason", "reason_input"
EXAMPLES = 5            # example changes shown in an approval request
VALUE_CHARS = 60        # a field value longer than this is cut (the web diff has it whole)
NOTES = 3
ICONS = {"awaiting_approval": ":hourglass:", "approved": ":white_check_mark:",
         "running": ":arrows_counterclockwise:", "succeeded": ":white_check_mark:",
         "partially_failed": ":warning:", "failed": ":x:", "rejected": ":no_entry:",
         "expired": ":zzz:", "cancelled": ":heavy_multiplication_x:",
         "rolled_back": ":leftwards_arrow_with_hook:"}

PAST = {"approve": "approved", "reject": "rejected"}

Blocks = list[dict[str, Any]]


def escape(text: object) -> str:
    """`text` safe inside mrkdwn: Slack's three control characters escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def button_value(job: int, digest: str) -> str:
    """What an Approve or Reject button carries: the job and the digest shown."""
    return json.dumps({"job": job, "digest": digest}, separators=(",", ":"))


def read_value(value: str) -> tuple[int, str]:
    """The job and digest of a button's value; `ValueError` if it is not one of ours."""
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("job"), int) \
            or not isinstance(data.get("digest"), str):
        raise ValueError("not a mops button")
    return data["job"], data["digest"]


def job_url(public_url: str, job: int) -> str:
    """The job's page in the web app, where the whole diff is."""
    return f"{public_url.rstrip('/')}/jobs/{job}"


def approval(view: dict[str, Any], examples: Iterable[Change], public_url: str) -> Blocks:
    """The approval request for a job (a `job_view`): summary, counts, examples, link, and
    Approve / Reject while it awaits approval; its decisions and outcome after."""
    job, digest = view["job"], view["digest"] or ""
    blocks: Blocks = [
        _section(f"{ICONS.get(view['state'], '')} *Job {job} · {escape(view['kind'])}* — "
                 f"{escape(view['state'].replace('_', ' '))}\n"
                 f"requested by {escape(view['requested_by'])} · target "
                 f"`{escape(view['target'])}`"),
        {"type": "section", "fields": _counts(view)},
    ]
    shown = [_example(c) for c in examples][:EXAMPLES]
    if shown:
        blocks.append(_section("*Examples*\n" + "\n".join(shown)))
    blocks += _notes(view)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"<{job_url(public_url, job)}|Open the full diff> · plan `{escape(digest[:12])}`")}]})
    if view["state"] == "awaiting_approval":
        blocks.append(_buttons(job, digest))
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": outcome(view)}]})
    return blocks


def fallback(view: dict[str, Any]) -> str:
    """The message's plain text (notifications, screen readers)."""
    return escape(f"Job {view['job']} ({view['kind']}) by {view['requested_by']}: "
                  f"{view['state'].replace('_', ' ')}")


def outcome(view: dict[str, Any]) -> str:
    """Who decided, and how far the job got: '✔ approved by bob · 10 of 10 applied'."""
    decided = [f"{PAST[d['verdict']]} by {escape(d['actor'])} ({escape(d['door'])})"
               + (f": {escape(d['comment'])}" if d.get("comment") else "")
               for d in view["decisions"]]
    progress = view["progress"]
    done = f"{progress['applied']} of {progress['total']} applied"
    if progress["failed"]:
        done += f", {progress['failed']} failed"
    return " · ".join([*decided, done, *([escape(view["error"])] if view["error"] else [])])


def finished(view: dict[str, Any], public_url: str) -> str:
    """The thread reply when a job ends."""
    icon = ICONS.get(view["state"], "")
    return (f"{icon} Job {view['job']} {view['state'].replace('_', ' ')}: {outcome(view)}. "
            f"<{job_url(public_url, view['job'])}|Details>")


def reject_modal(job: int, digest: str) -> dict[str, Any]:
    """The dialog asking why a job is rejected (the gate wants a reason)."""
    return {
        "type": "modal", "callback_id": REJECT_VIEW,
        "private_metadata": button_value(job, digest),
        "title": {"type": "plain_text", "text": f"Reject job {job}"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{"type": "input", "block_id": REASON_BLOCK,
                    "label": {"type": "plain_text", "text": "Why?"},
                    "element": {"type": "plain_text_input", "action_id": REASON_INPUT,
                                "multiline": True, "max_length": 500}}],
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _counts(view: dict[str, Any]) -> list[dict[str, str]]:
    summary = {k: v for k, v in view["summary"].items() if v} or {"changes": 0}
    fields = [{"type": "mrkdwn", "text": f"*{escape(k.replace('_', ' '))}*\n{v:,}"}
              for k, v in summary.items()]
    if view["fields"]:
        fields.append({"type": "mrkdwn", "text": "*fields*\n" + escape(
            ", ".join(view["fields"]))[:500]})
    return fields[:10]


def _example(change: Change) -> str:
    record = escape(change.key) + (f" in {escape(change.list_name)}"
                                   if change.list_name else "")
    fields = sorted(set(change.after or {}) | set(change.before or {}))
    diffs = ", ".join(f"{escape(f)}: {_value((change.before or {}).get(f))} → "
                      f"{_value((change.after or {}).get(f))}" for f in fields[:4])
    more = f" (+{len(fields) - 4} more)" if len(fields) > 4 else ""
    return f"• `{escape(change.op)}` {record}" + (f" — {diffs}{more}" if diffs else "")


def _value(value: object) -> str:
    if value is None or value == "":
        return "∅"
    text = str(value)
    text = text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"
    return f"`{escape(text.replace('`', 'ˋ'))}`"


def _notes(view: dict[str, Any]) -> Blocks:
    notes = view["notes"][:NOTES]
    if not notes:
        return []
    more = len(view["notes"]) - len(notes)
    text = "\n".join(f"• {escape(n)[:400]}" for n in notes) + (f"\n…and {more} more"
                                                               if more else "")
    return [_section("*Notes*\n" + text)]


def _buttons(job: int, digest: str) -> dict[str, Any]:
    value = button_value(job, digest)
    return {"type": "actions", "block_id": f"decide-{job}", "elements": [
        {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
         "text": {"type": "plain_text", "text": "Approve"}},
        {"type": "button", "action_id": REJECT, "style": "danger", "value": value,
         "text": {"type": "plain_text", "text": "Reject"}},
    ]}
