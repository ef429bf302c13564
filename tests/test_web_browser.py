"""The web app in a real browser: headless Chromium (Debian's, at /usr/bin/chromium) driven by
Playwright, against the app served by uvicorn on 127.0.0.1. alice's job appears; alice's own
approval is refused; bob logs in, reads the diff, approves; the job runs with live progress;
the log shows who did what. The job page's screenshot is saved for the docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from approvals.users import Users
from mops.web import create_web
from tests.helpers import crm_of, make_app, upload, write_csv
from tools.fakes.server import FakeServer
from tools.records import Record

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "job-page.png"
LAPTOP = {"width": 1366, "height": 900}
LEADS = (
    "Email,First Name,Last Name,Company,Country\n"
    "nina.new@example.com,Nina,New,Acme GmbH,Germany\n"
    "olga@example.com,Olga,Oldman,Initech,France\n"
    "sam@example.com,Sam,Same,Umbrella,\n"
    "pete@example.org,Pete,Park,Globex,United Kingdom\n"
    "not-an-email,Bad,Row,,\n"
)


def log_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Jobs")


def test_approver_reads_the_diff_approves_and_the_log_shows_it(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: install it with `apt-get install -y chromium` "
                    "(.ci/run does)", pytrace=False)
    app = make_app(tmp_path / "home")
    crm = crm_of(app)
    crm.create_contacts([
        Record(key="olga@example.com", fields={"firstname": "Olga", "lastname": "Old",
                                               "company": "Initech"}),
        Record(key="sam@example.com", fields={"firstname": "Sam", "lastname": "Same",
                                              "company": "Umbrella"}),
    ])
    crm.close()
    users = Users(app.store)
    alice, bob = users.add("alice", "approver")[1], users.add("bob", "approver")[1]
    job = upload(app, write_csv(tmp_path / "expo.csv", LEADS), "Expo 2026", user="alice")
    web = create_web(app)
    try:
        with FakeServer(web) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            try:
                # alice's job appears; her own approve button is refused by the server
                mine = browser.new_context(viewport=LAPTOP).new_page()
                log_in(mine, server.url, alice)
                row = mine.locator("table.jobs tr", has_text="alice")
                expect(row).to_contain_text("awaiting_approval")
                row.locator(f"a[href='/jobs/{job}']").click()
                mine.click("button.approve")
                expect(mine.locator(".refused")).to_contain_text(
                    f"alice requested job {job} and cannot approve it")
                assert app.store.get(job).state == "awaiting_approval"

                # bob logs in, reads the diff, approves with a comment
                page = browser.new_context(viewport=LAPTOP).new_page()
                log_in(page, server.url, bob)
                page.click(f"a[href='/jobs/{job}']")
                diff = page.locator("table.diff")
                expect(diff).to_contain_text("olga@example.com")
                olga = diff.locator("tr:has(td.before:text-is('Old'))")   # olga's lastname
                expect(olga.locator("td").first).to_have_text("lastname")
                expect(olga.locator("td.after")).to_have_text("Oldman")
                expect(page.locator("table.rejects")).to_contain_text("not-an-email")
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=True)
                page.fill("#approve-comment", "checked the diff")
                page.click("button.approve")
                # the page refreshes itself while the job runs, until it is done
                expect(page.locator("h1 .state")).to_have_text("succeeded", timeout=30_000)
                expect(page.locator("table.decisions")).to_contain_text("checked the diff")

                # the log shows the decision (who, door) and the writes
                page.click("text=This job's log")
                log = page.locator("table.log")
                expect(log).to_contain_text("approved via web")
                expect(log).to_contain_text("create nina.new@example.com")
                expect(log).to_contain_text("update olga@example.com")
            finally:
                browser.close()
    finally:
        web.state.door.jobs.runner.join(timeout=30)
        app.close()
    decision = app.runtime.gate.decisions(job)[0]
    assert (decision.actor, decision.door, decision.comment) == ("bob", "web", "checked the diff")
    assert SCREENSHOT.stat().st_size > 10_000
