"""`/mops …`: what the text of a slash command asks for.

    /mops help                          → Help
    /mops status 12                     → Status(12)
    /mops upload leads.csv to the Expo list
    /mops utm-fix links.csv with utm.toml
    /mops backfill country from phone
    /mops rollback 12
    /mops how many contacts have no country?   → Ask(text) for the intents parser

Subcommands are words the intents parser reads already (`utm-fix` becomes "fix the utms",
`rollback N` "roll back job N"); anything else is free text for it. Nothing here acts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HELP = """*mops* — marketing-ops jobs, planned here and approved by someone else.
• `/mops upload leads.csv to the Expo 2026 list` — share the CSV in this channel first
• `/mops utm-fix ads.csv with utm.toml` · `/mops utm-fix contacts with utm.toml`
• `/mops backfill country from phone where country is empty`
• `/mops rollback JOB` · `/mops status JOB` · `/mops how many contacts have no country?`
Every job is planned first; its approval request appears in the channel with the counts, \
examples and a link to the full diff."""

_UTM_FIX = re.compile(r"^utm[-_ ]?fix\b", re.IGNORECASE)
_ROLLBACK = re.compile(r"^roll[-_ ]?back\s+(?:job\s+)?#?(\d+)\s*$", re.IGNORECASE)
_STATUS = re.compile(r"^status\b\s*(?:job\s+)?#?(\S*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Help:
    """Show what `/mops` can do (`text` says why, when the command was not understood)."""

    text: str = HELP


@dataclass(frozen=True)
class Status:
    """Show one job."""

    job: int


@dataclass(frozen=True)
class Ask:
    """A request in words, for the intents parser."""

    text: str


Command = Help | Status | Ask


def parse_command(text: str) -> Command:
    """What `/mops TEXT` asks for."""
    text = " ".join(text.split())
    if text.lower() in ("", "help", "?"):
        return Help()
    if status := _STATUS.match(text):
        number = status.group(1)
        return Status(int(number)) if number.isdigit() else Help("Usage: `/mops status JOB`")
    if rollback := _ROLLBACK.match(text):
        return Ask(f"roll back job {rollback.group(1)}")
    if _UTM_FIX.match(text):
        return Ask(_UTM_FIX.sub("fix the utms", text, count=1))
    return Ask(text)
