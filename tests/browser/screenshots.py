"""The README's screenshots of the console (`make screenshots`): the demo contracts, each page as
its user sees it, written to docs/ (SCREENSHOTS_DIR). Not collected by `make test` (the file is
not named test_*); run it by path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NARROW, sign_in
from tests.browser.test_console import _pending
from tests.conftest import ROOT
from tests.support.auth import user_with_token

OUT = Path(os.environ.get("SCREENSHOTS_DIR", ROOT / "docs"))


@pytest.fixture
def demo(console, settings):
    from pipeline.core import db
    from pipeline.seed.service import seed

    seed(settings=settings, factory=db.session_factory(settings))
    return console


def _shot(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(OUT / f"console-{name}.png"), full_page=False)


def test_screenshots(demo, pages, session_factory, web):
    _pending(session_factory, 5)
    _user, agent = user_with_token("agent", email="maria.agent@lender.example", full_name="Maria Agent")
    _user, operator = user_with_token("operator", email="omar.operator@lender.example", full_name="Omar Operator")
    _user, auditor = user_with_token("auditor", email="ada.auditor@lender.example", full_name="Ada Auditor")
    _user, admin = user_with_token("admin", email="alex.admin@lender.example", full_name="Alex Admin")

    page = pages.new(viewport={"width": 1280, "height": 1100})
    page.goto(f"{demo}/")
    expect(page.get_by_label("API token", exact=True)).to_be_visible()
    _shot(page, "sign-in")

    sign_in(page, demo, agent, "/agent")
    page.get_by_label("Account number").fill("4350-948-342")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Extract").click()
    expect(page.locator("#review .field")).to_have_count(3)
    page.locator('#review .field[data-field="refund_calculation_method"]').get_by_role("button", name="Refund method").click()
    page.get_by_label("Question").fill("What is the cancellation fee?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".citation").first).to_be_visible(timeout=30000)
    page.locator('#review .field[data-field="refund_calculation_method"]').get_by_role("button", name="Refund method").click()
    _shot(page, "agent")

    narrow = pages.new(viewport=NARROW)
    sign_in(narrow, demo, agent, "/agent")
    narrow.get_by_label("Account number").fill("4350-948-342")
    narrow.keyboard.press("Enter")
    expect(narrow.locator("#review .field")).to_have_count(3)
    _shot(narrow, "agent-narrow")

    page.goto(f"{demo}/queue")
    expect(page.locator(".queue-item").first).to_be_visible()
    expect(page.locator("#doc mark")).to_be_visible()
    _shot(page, "queue")

    ops = pages.new()
    sign_in(ops, demo, operator, "/batches")
    ops.get_by_label("Every contract not yet extracted").check()
    ops.get_by_role("button", name="Start the batch").click()
    expect(ops.locator("#batch-rows tr").first.locator(".batch-status")).to_have_text("completed", timeout=60000)
    _shot(ops, "batches")

    from sqlalchemy import select

    from models import Contract, Extraction

    with session_factory() as session:
        extraction_id = session.scalar(select(Extraction.id).join(Contract).where(Contract.account_number == "4350948342"))
    page.goto(f"{demo}/agent?contract=" + str(session_factory().scalar(select(Contract.id).where(Contract.account_number == "4350948342"))))
    page.get_by_label("Cancellation fee: value").fill("75")
    page.get_by_label("Cancellation fee: reason for a change").fill("Addendum sets a $75 fee")
    page.get_by_role("button", name="Submit corrections and approve").click()
    expect(page.locator("#approval")).to_be_visible()

    trail = pages.new()
    sign_in(trail, demo, auditor, f"/audit?extraction={extraction_id}")
    expect(trail.locator("#trail-rows tr.event-approve")).to_have_count(1)
    _shot(trail, "audit")

    adm = pages.new()
    sign_in(adm, demo, admin, "/admin")
    expect(adm.locator("#user-rows tr").first).to_be_visible()
    expect(adm.locator("#token-rows tr").first).to_be_visible()
    _shot(adm, "admin")
