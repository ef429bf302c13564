"""`mops demo`: the life of a job, narrated, on the embedded default (SQLite, in-process,
the sandbox CRM). Each step runs the real command it prints."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from mops import output
from tools.sandbox import SandboxCRM

LEADS = (
    "\ufeffE-mail Address;First Name;Last Name;Company;Country;Phone;Notes\r\n"
    "ada@lovelace.example;Ada;Lovelace;Analytical Engines;United Kingdom;020 7946 0958;VIP\r\n"
    "  GRACE@Hopper.example ;Grace;Hopper;Navy;USA;+1 202 555 0143;\r\n"
    "\r\n"
    "not-an-email;Bad;Row;;Germany;;typo\r\n"
    "ada@lovelace.example;Ada;L.;;UK;;duplicate\r\n"
    "{existing};{first};{last};\"Acme; Inc\";DE;;an existing contact, new company\r\n"
)


def run_demo(home: Path) -> None:
    """Run the walkthrough in `home` (wiped first); exits non-zero if a step misbehaves."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["MOPS_HOME"] = str(home)
    for name in ("MOPS_DATABASE_URL", "MOPS_CONFIG", "MOPS_USER"):
        os.environ.pop(name, None)
    for name in [n for n in os.environ if n.startswith(("MOPS_TARGETS__", "MOPS_SLACK__"))]:
        os.environ.pop(name)                  # the demo's sandbox is its own, never yours
    (home / "mops.toml").write_text("# the demo's settings: the defaults\n")
    os.environ["MOPS_CONFIG"] = str(home / "mops.toml")
    _say("1. A sandbox CRM with demo contacts and lists")
    _run("sandbox seed --contacts 50")
    leads = _write_leads(home)
    _say("2. alice uploads a messy lead list (BOM, semicolons, CRLF, a bad e-mail, a "
         "duplicate, a blank line, an unknown column). Nothing is written yet: a plan is made.")
    before = _snapshot(home)
    _run(f"upload {shlex.quote(str(leads))} --list 'Expo 2026' --as alice")
    _say("3. The plan, change by change: before → after")
    _run("show 1")
    _say("4. alice cannot approve her own job")
    _run("approve 1 --as alice", expect=1)
    _say("5. bob approves the plan; it runs, writing each before-image to the log first")
    _run("approve 1 --as bob --comment 'looks right'")
    _say("6. The log: who asked, who approved, every write; and its hash chain verified")
    _run("log 1 --limit 5")
    _run("log --verify")
    _say("7. alice asks for a rollback: a new job, planned from the log, gated like any")
    _run("rollback 1 --as alice")
    _run("approve 2 --as bob --comment 'undo the test upload'")
    after = _snapshot(home)
    if after != before:
        output.fail("the rollback did not restore the sandbox CRM exactly")
    _say(f"8. The sandbox CRM is exactly as it was before the upload "
         f"({len(after[0])} contacts, {len(after[1])} list memberships).")
    _run("jobs")
    output.out.print(f"\nState is in {home}: try [bold]MOPS_HOME={home} mops log[/].")


def _write_leads(home: Path) -> Path:
    crm = SandboxCRM(f"sqlite:///{(home / 'sandbox.db').resolve()}")
    try:
        existing = next(iter(crm.iter_contacts()))
    finally:
        crm.close()
    text = LEADS.format(existing=existing.key, first=existing.fields.get("firstname") or "",
                        last=existing.fields.get("lastname") or "")
    path = home / "expo-leads.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def _snapshot(home: Path) -> tuple[list[object], list[object]]:
    crm = SandboxCRM(f"sqlite:///{(home / 'sandbox.db').resolve()}")
    try:
        return ([(r.key, r.fields) for r in crm.iter_contacts()], list(crm.iter_memberships()))
    finally:
        crm.close()


def _say(text: str) -> None:
    output.out.print(f"\n[bold cyan]{text}[/]", highlight=False)


def _run(args: str, expect: int = 0) -> None:
    from mops.cli import cli

    output.out.print(f"[dim]$ mops {args}[/]", highlight=False)
    try:
        cli(shlex.split(args), prog_name="mops", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    if code != expect:
        output.fail(f"demo step 'mops {args}' exited {code}, expected {expect}")
