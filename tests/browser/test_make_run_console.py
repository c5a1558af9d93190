"""The console on `make run`'s embedded default (SQLite, the file-system broker, no Redis: job
progress comes from the database), signed in with the development token it prints."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.e2e.test_make_run import running  # noqa: F401 - the fixture: make run in a fresh DATA_DIR

pytestmark = pytest.mark.slow


def test_the_console_works_on_the_embedded_default(running, pages, accessible):  # noqa: F811
    base, data_dir, _env, _log = running
    token = (data_dir / "dev-token").read_text().strip()
    page = pages.new()
    sign_in(page, base, token, "/agent")
    expect(page.locator("#who-role")).to_have_text("admin")
    page.get_by_label("Account number").fill("2093-417-785")
    page.get_by_role("button", name="Find the contract").click()
    expect(page.locator("#c-account")).to_have_text("2093417785")
    page.get_by_role("button", name="Extract").click()
    expect(page.locator("#review .field")).to_have_count(3, timeout=90000)
    assert page.locator("#progress").get_attribute("data-seen").split()[-1] == "succeeded"
    expect(page.locator('#review .field[data-field="gap_insurance_premium"] .value')).to_have_text("$595.00")
    page.get_by_role("button", name="GAP premium").click()
    expect(page.locator("#doc mark")).to_contain_text("595")
    accessible(page, "on make run's console")
