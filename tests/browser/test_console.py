"""The console in a real browser: what agents, reviewers, operators, auditors and admins do."""

from __future__ import annotations

import csv
import hashlib
import base64
import io
import json
import re
import urllib.parse
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Contract, Extraction
from tests.browser.conftest import NARROW, sign_in
from tests.support.auth import user_with_token

ACCOUNT = "4350948342"
DASHED = "4350-948-342"


@pytest.fixture
def demo(console, settings):
    """The demo contracts (with PDFs) that `make run` seeds."""
    from pipeline.core import db
    from pipeline.seed.service import seed

    seed(settings=settings, factory=db.session_factory(settings))
    return console


def _extraction_id(session_factory, account=ACCOUNT):
    with session_factory() as session:
        return session.scalar(select(Extraction.id).join(Contract).where(Contract.account_number == account))


def test_agent_searches_extracts_checks_a_quote_corrects_and_approves(demo, pages, accessible, session_factory):
    _agent, token = user_with_token("agent")
    page = pages.new()
    streams = []
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/events") else None)
    urls = []
    page.on("request", lambda r: urls.append(r.url))
    sign_in(page, demo, token, "/agent")
    accessible(page, "on the agent's empty search page")

    page.get_by_label("Account number").fill(DASHED)
    page.get_by_role("button", name="Find the contract").click()
    expect(page.locator("#c-account")).to_have_text(ACCOUNT)
    expect(page.locator("#c-customer")).not_to_have_text("—")
    expect(page.locator("#c-state")).to_have_text("AZ")
    expect(page.locator("#c-term")).to_contain_text("months")
    expect(page.locator("#doc")).to_contain_text("GAP")
    expect(page.get_by_role("button", name="Open the PDF")).to_be_visible()
    expect(page.locator("#refund")).to_be_visible()  # the refund-quote endpoint is in the document

    page.get_by_role("button", name="Extract").click()
    expect(page.locator("#review .field")).to_have_count(3)
    seen = page.locator("#progress").get_attribute("data-seen").split()
    assert seen and seen[-1] == "succeeded" and set(seen) <= {"queued", "running", "succeeded"}, seen
    assert streams, "the job's progress came from its event stream"
    assert not any("token" in u.lower() or "cre_" in u for u in urls), "no token in any URL"
    accessible(page, "with an extraction under review")

    fee = page.locator('#review .field[data-field="cancellation_fee"]')
    quote = fee.locator("blockquote").inner_text()
    fee.get_by_role("button", name="Cancellation fee").click()
    expect(page.locator("#doc mark")).to_have_text(quote)
    assert page.locator("#doc mark").evaluate("m => { const r = m.getBoundingClientRect(), d = m.closest('.doc').getBoundingClientRect(); return r.top >= d.top && r.bottom <= d.bottom; }")

    with page.expect_popup() as popup:
        page.get_by_role("button", name="Open the PDF").click()
    assert popup.value.url.startswith("blob:")
    popup.value.close()

    page.get_by_label("Cancellation fee: value").fill("75")
    page.get_by_role("button", name="Submit corrections and approve").click()
    expect(page.locator(".outcome")).to_contain_text("Give a reason for the change to Cancellation fee")
    page.get_by_label("Cancellation fee: reason for a change").fill("Addendum sets a $75 fee")
    page.get_by_role("button", name="Submit corrections and approve").click()
    approval = page.locator("#approval")
    expect(approval).to_contain_text("Approved")
    expect(approval).to_contain_text("Cancellation fee: $50.00 → $75.00 (Addendum sets a $75 fee)")
    expect(page.locator('#review .field[data-field="cancellation_fee"] .value')).to_have_text("$75.00")
    accessible(page, "after the approval")

    # The trail is for auditors: the approval is on it, with the correction and who made it.
    extraction_id = _extraction_id(session_factory)
    _auditor, auditor_token = user_with_token("auditor")
    trail = pages.new()
    sign_in(trail, demo, auditor_token, f"/audit?extraction={extraction_id}")
    approve = trail.locator("#trail-rows tr.event-approve")
    expect(approve).to_have_count(1)
    expect(approve).to_contain_text("cancellation_fee: 50.00 → 75.00 (Addendum sets a $75 fee)")
    expect(approve).to_contain_text(str(_agent.id))
    accessible(trail, "on the audit trail")


def test_agent_chats_and_a_citation_highlights_its_passage(demo, pages, accessible):
    _agent, token = user_with_token("agent")
    page = pages.new()
    sign_in(page, demo, token, "/agent")
    page.get_by_label("Account number").fill("4350 948 342")
    page.keyboard.press("Enter")
    expect(page.locator("#c-account")).to_have_text(ACCOUNT)
    page.get_by_label("Question").fill("What is the cancellation fee?")
    page.get_by_role("button", name="Ask").click()
    citation = page.locator(".citation").first
    expect(citation).to_be_visible(timeout=30000)
    quoted = re.match(r"Source 1: “(.*)”$", citation.inner_text(), re.S).group(1)
    citation.click()
    expect(page.locator("#doc mark")).to_have_text(quoted)
    accessible(page, "with a chat answer")


def test_refund_quote_panel_quotes_through_the_api(demo, pages, accessible, session_factory):
    """Date and reason -> the service's quote with its steps, and its letter to download."""
    from models import RefundQuote

    with session_factory() as session:
        contract = session.scalars(select(Contract).where(Contract.account_number == ACCOUNT)).one()
        text = contract.document_text
        session.add(Extraction(
            contract_id=contract.id, provider="local",
            gap_insurance_premium=Decimal("795.00"), gap_insurance_premium_confidence=0.95,
            refund_calculation_method="pro_rata", refund_calculation_method_confidence=0.9,
            cancellation_fee=Decimal("50.00"), cancellation_fee_confidence=0.9,
        ))
        session.commit()
    assert "795.00" in text
    _agent, token = user_with_token("agent")
    page = pages.new()
    sign_in(page, demo, token, "/agent")
    page.get_by_label("Account number").fill(DASHED)
    page.keyboard.press("Enter")
    expect(page.locator("#refund")).to_be_visible()
    page.get_by_label("Cancellation date").fill("2025-02-14")
    page.get_by_label("Reason", exact=True).select_option("payoff")
    page.get_by_role("button", name="Quote the refund").click()
    expect(page.locator("#refund-amount")).not_to_have_text("")
    with session_factory() as session:
        stored = session.scalars(select(RefundQuote).where(RefundQuote.contract_id == contract.id)).one()
    assert (str(stored.cancellation_date), stored.reason) == ("2025-02-14", "payoff")
    expect(page.locator("#refund-amount")).to_have_text(f"${stored.refund}")
    expect(page.locator(".steps li")).to_have_count(len(stored.result["steps"]))
    expect(page.locator(".warnings")).to_contain_text("not yet reviewed")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the letter").click()
    assert download.value.suggested_filename == f"refund-quote-{ACCOUNT}.pdf"
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    accessible(page, "with a refund quote")


def _pending(session_factory, count):
    """Pending extractions with passages, confidences rising with their number."""
    made = []
    with session_factory() as session:
        for n in range(count):
            text = f"GAP WAIVER {n}. The GAP charge is $795.00. Refunds are pro rata. A cancellation fee of $50 applies."
            contract = Contract(account_number=f"77000{n:02d}", customer_name=f"Reviewer Case {n}", document_text=text, text_status="available", state="TX")
            session.add(contract)
            session.flush()
            start = text.index("The GAP charge")
            fee = text.index("A cancellation fee")
            method = text.index("Refunds are")
            session.add(Extraction(
                contract_id=contract.id,
                gap_insurance_premium=Decimal("795.00"), gap_insurance_premium_confidence=0.95,
                gap_insurance_premium_source="The GAP charge is $795.00", gap_insurance_premium_start=start, gap_insurance_premium_end=start + 25,
                refund_calculation_method="pro_rata", refund_calculation_method_confidence=0.9,
                refund_calculation_method_source="Refunds are pro rata", refund_calculation_method_start=method, refund_calculation_method_end=method + 20,
                cancellation_fee=Decimal("50.00"), cancellation_fee_confidence=0.3 + n * 0.1,
                cancellation_fee_source="A cancellation fee of $50 applies", cancellation_fee_start=fee, cancellation_fee_end=fee + 33,
                provider="local",
            ))
            made.append(contract.account_number)
        session.commit()
    return made


def test_reviewer_clears_three_items_with_the_keyboard(console, pages, accessible, session_factory):
    accounts = _pending(session_factory, 4)
    _agent, token = user_with_token("agent")
    page = pages.new()
    sign_in(page, console, token, "/queue")
    current = page.locator('.queue-item[aria-current="true"] .account')
    expect(current).to_have_text(accounts[0])  # least confident first
    expect(page.locator("#doc mark")).to_have_text("A cancellation fee of $50 applies")  # its weakest field shown
    accessible(page, "on the review queue")

    page.locator("body").press("j")
    expect(current).to_have_text(accounts[1])
    page.keyboard.press("ArrowUp")
    expect(current).to_have_text(accounts[0])

    page.keyboard.press("a")  # approve as extracted (the key waits for the item it acts on)
    expect(current).to_have_text(accounts[1])
    expect(page.locator("#queue-count")).to_have_text("(3)")

    page.keyboard.press("e")  # edit: the first value has the focus
    expect(page.get_by_label("GAP premium: value")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("895")
    page.keyboard.press("Tab")
    page.keyboard.type("Premium is $895 on the signed copy")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(current).to_have_text(accounts[2])

    page.keyboard.press("a")
    expect(current).to_have_text(accounts[3])
    expect(page.locator("#queue-count")).to_have_text("(1)")

    with session_factory() as session:
        rows = {c.account_number: e for e, c in session.execute(select(Extraction, Contract).join(Contract)).all()}
    assert [rows[a].status for a in accounts] == ["approved", "approved", "approved", "pending"]
    assert rows[accounts[1]].gap_insurance_premium == Decimal("895.00")


def test_a_409_is_explained_when_another_reviewer_approved_first(console, pages, session_factory):
    accounts = _pending(session_factory, 1)
    _first, first_token = user_with_token("agent")
    _second, second_token = user_with_token("agent")
    mine, theirs = pages.new(), pages.new()
    for page, token in ((mine, first_token), (theirs, second_token)):
        sign_in(page, console, token, "/queue")
        expect(page.locator(".queue-item .account")).to_have_text(accounts[0])
    theirs.get_by_role("button", name="Approve").click()
    expect(theirs.locator(".queue-item.empty, .empty")).to_have_text("Nothing to review: the queue is clear.")

    mine.get_by_label("Cancellation fee: value").fill("60")
    mine.get_by_label("Cancellation fee: reason for a change").fill("fee schedule")
    mine.get_by_role("button", name="Submit corrections and approve").click()
    conflict = mine.locator(".conflict")
    expect(conflict).to_contain_text("Someone else approved this extraction first")
    expect(conflict).to_contain_text("already approved")  # the server's own words
    mine.get_by_role("button", name="Show the approved values").click()
    expect(mine.locator(".queue-item .account")).to_have_count(0)


def test_operator_runs_a_batch_to_completion_and_downloads_its_results(demo, pages, accessible, session_factory, tmp_path):
    with session_factory() as session:
        session.add(Contract(account_number="8800001", customer_name="No Document"))  # fails: nothing to read
        session.commit()
    _operator, token = user_with_token("operator")
    page = pages.new()
    sign_in(page, demo, token, "/batches")
    accessible(page, "on the batches page")
    numbers = ["4350-948-342", "1187 203 564", "2093417785", "8800001"]
    page.get_by_label("File of account numbers or contract ids").set_input_files(
        files=[{"name": "accounts.txt", "mimeType": "text/plain", "buffer": "\n".join(numbers).encode()}])
    page.get_by_role("button", name="Start the batch").click()
    expect(page.locator("#status")).to_contain_text("Batch started: 4 contracts, 0 skipped.")
    row = page.locator("#batch-rows tr").first
    expect(row.locator(".batch-status")).to_have_text("completed", timeout=60000)
    expect(row).to_contain_text("4 of 4 done (100%)")
    expect(page.locator("#detail-facts")).to_contain_text("Succeeded3")
    expect(page.locator("#reason-rows")).to_contain_text("the contract has no document text and no PDF")
    accessible(page, "with a finished batch")

    with page.expect_download() as download:
        row.get_by_role("button", name=re.compile("Download CSV")).click()
    path = tmp_path / "results.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert sorted(r["account_number"] for r in rows) == ["1187203564", "2093417785", "4350948342", "8800001"]
    by_number = {r["account_number"]: r for r in rows}
    assert by_number["4350948342"]["gap_insurance_premium"] == "795.00" and by_number["4350948342"]["status"] == "succeeded"
    assert by_number["8800001"]["status"] == "failed" and "no document text" in by_number["8800001"]["error"]


def test_an_agent_is_refused_the_admin_operator_and_auditor_pages(console, pages):
    _agent, token = user_with_token("agent")
    page = pages.new()
    sign_in(page, console, token, "/")
    nav = page.get_by_role("navigation", name="Console pages")
    expect(nav.get_by_role("link", name="Contracts")).to_be_visible()
    expect(nav.get_by_role("link", name="Review queue")).to_be_visible()
    for hidden in ("Users and tokens", "Batches", "Audit trail"):
        expect(nav.get_by_role("link", name=hidden)).to_be_hidden()
    api_calls = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/v1/admin" in r.url or "/api/v1/batches" in r.url else None)
    for path, allowed in (("/admin", "admin"), ("/batches", "operator, admin"), ("/audit", "auditor, admin")):
        page.goto(f"{console}{path}")
        expect(page.locator("#refused")).to_contain_text(f"Your role (agent) may not use this page; it is for: {allowed}.")
        expect(page.locator("#page")).to_be_hidden()
    assert api_calls == []


def test_admin_creates_and_deactivates_a_user_and_makes_a_token(console, pages, accessible):
    _admin, token = user_with_token("admin")
    page = pages.new()
    sign_in(page, console, token, "/admin")
    page.get_by_label("E-mail").fill("new.agent@example.com")
    page.get_by_label("Username").fill("newagent")
    page.get_by_label("Role").select_option("agent")
    page.get_by_role("button", name="Create the user").click()
    row = page.locator('#user-rows tr[data-user="new.agent@example.com"]')
    expect(row).to_contain_text("agent")
    page.get_by_label("For").select_option(label="new.agent@example.com")
    page.get_by_label("Name", exact=True).fill("laptop")
    page.get_by_role("button", name="Create the token").click()
    expect(page.get_by_label("New token")).to_have_value(re.compile(r"^cre_\S{20,}$"))
    expect(page.locator("#token-rows")).to_contain_text("laptop")
    accessible(page, "on the admin page")
    row.get_by_role("button", name=re.compile("Deactivate")).click()
    expect(row.locator("td").nth(3)).to_have_text("no")
    page.get_by_label("E-mail").fill("bad")
    page.get_by_label("Username").fill("x")
    page.get_by_role("button", name="Create the user").click()
    expect(page.locator("#error")).to_contain_text("email: Not a valid email address.")


def test_sign_in_errors_and_sign_out_in_the_server_s_words(console, pages, accessible):
    page = pages.new(viewport=NARROW)
    page.goto(f"{console}/")
    accessible(page, "on the sign-in page, narrow")
    page.get_by_label("API token", exact=True).fill("cre_not-a-real-token")
    page.get_by_role("button", name="Sign in with the token").click()
    expect(page.locator("#error")).to_contain_text("token")
    _agent, token = user_with_token("agent")
    page.get_by_label("API token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in with the token").click()
    expect(page.locator("#who-role")).to_have_text("agent")
    accessible(page, "on the home page, narrow")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scrolling when narrow"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token", exact=True)).to_be_visible()
    expect(page.locator("#status")).to_have_text("You are signed out.")
    assert page.evaluate("() => sessionStorage.getItem('cre.token')") is None


def test_single_sign_on_with_pkce_against_the_mock_provider(browser, migrated_database, clean_db, redis_client, pages):
    """The authorization code flow with PKCE, in the browser, against oidc-provider-mock; the
    console then calls the API with the ID token."""
    import os
    import urllib3

    from tests.conftest import ROOT
    from tests.support.oidc_provider import running_mock_provider
    from tests.support.web import WebServer

    with running_mock_provider() as issuer:
        env = {**os.environ, "OIDC_ISSUER": issuer, "OIDC_AUDIENCE": "console", "OIDC_CLIENT_ID": "console", "OIDC_AUTO_PROVISION_ROLE": "agent"}
        server = WebServer(cwd=ROOT, env=env, workers=1)
        try:
            base = f"http://127.0.0.1:{server.port}"
            urllib3.PoolManager().request("PUT", f"{issuer}/users/maria", body=json.dumps({"email": "maria@example.com", "email_verified": True, "name": "Maria Lopez"}),
                                          headers={"Content-Type": "application/json"})
            page = pages.new()
            seen = {}

            def token_endpoint(route):
                # Two things the mock lacks and real providers have for a console: public clients
                # (PKCE, no secret) and CORS for a registered origin. The console sends no secret
                # (asserted below); the mock is given one it accepts, and its answer the header.
                seen["token"] = urllib.parse.parse_qs(route.request.post_data)
                response = route.fetch(post_data=route.request.post_data + "&client_secret=mock-needs-one")
                route.fulfill(response=response, headers={**response.headers, "access-control-allow-origin": base})

            page.route(f"{issuer}/oauth2/token", token_endpoint)
            page.on("request", lambda r: seen.setdefault("authorize", r.url) if "/oauth2/authorize" in r.url else None)
            page.goto(f"{base}/agent")
            page.get_by_role("button", name="Sign in with single sign-on").click()
            page.locator('input[name="sub"]').fill("maria")
            page.get_by_role("button", name="Authorize").click()
            expect(page.locator("#who-role")).to_have_text("agent")
            expect(page.locator("#who-name")).to_have_text("Maria Lopez")
            assert page.url == f"{base}/agent"  # back where the sign-in started, the code gone from the address

            query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen["authorize"]).query)
            assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["console"]
            verifier = seen["token"]["code_verifier"][0]
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            assert query["code_challenge"] == [digest] and len(verifier) >= 43
            assert "client_secret" not in seen["token"] and seen["token"]["grant_type"] == ["authorization_code"]
            me = page.evaluate("async () => (await fetch('/api/v1/me', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('cre.token')}})).json()")
            assert me["signed_in_with"] == "oidc" and me["email"] == "maria@example.com"
        finally:
            server.stop()
