"""Browser tests: the console in a real headless Chromium (Debian's, driven by Playwright's
Python package), against the app under gunicorn and a real worker.

Chromium missing is a failure with the way to install it, never a silent skip: these tests are
how the console is known to work. Each test's page is checked for serious or critical
accessibility violations (axe-core, from npm) and for Content-Security-Policy refusals; a failing
test leaves a screenshot in BROWSER_ARTIFACTS (default var/browser-failures).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.web import WebServer

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "var" / "browser-failures"))
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 420, "height": 900}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need Debian's chromium "
            "(apt-get update && apt-get install -y chromium; .ci/run does it), or CHROMIUM=/path/to/chromium.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` at the repository root (make test does it when node is installed).", pytrace=False)
    return AXE.read_text()


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The playwright package is missing: pip install -r requirements-dev.txt", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def web(migrated_database, worker) -> Iterator[WebServer]:
    """The app under gunicorn, its jobs run by the session's real worker."""
    server = WebServer(cwd=ROOT, env=dict(os.environ))
    yield server
    server.stop()


@pytest.fixture
def console(web, clean_db, redis_client):
    """The base URL of a console whose database and cache start empty."""
    return f"http://127.0.0.1:{web.port}"


class Pages:
    """New pages, each in its own context (its own sessionStorage: its own sign-in)."""

    def __init__(self, browser, request) -> None:
        self.browser = browser
        self.request = request
        self.contexts = []
        self.problems: list[str] = []

    def new(self, viewport=WIDE):
        context = self.browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))
        self.contexts.append(context)
        return page

    def _console(self, message) -> None:
        # Expected 4xx answers (a 409, a 403) are logged by Chromium as failed loads: not problems.
        if "Content Security Policy" in message.text or (message.type == "error" and "Failed to load resource" not in message.text):
            self.problems.append(message.text)

    def close(self) -> None:
        failed = getattr(self.request.node, "rep_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for n, context in enumerate(self.contexts):
                for m, page in enumerate(context.pages):
                    path = ARTIFACTS / f"{self.request.node.name}-{n}-{m}.png"
                    try:
                        page.screenshot(path=str(path), full_page=True)
                        print(f"screenshot of the failed test: {path}")
                    except Exception as exc:  # a screenshot must not hide the failure
                        print(f"no screenshot ({exc})")
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, request) -> Iterator[Pages]:
    made = Pages(browser, request)
    yield made
    made.close()
    assert made.problems == [], f"the page reported errors or policy refusals: {made.problems}"


@pytest.fixture
def accessible(axe_source):
    """accessible(page): no serious or critical axe-core violation on the page as it is now."""

    def check(page, what: str = "") -> None:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(axe_source)  # evaluated by the browser's debugger: the page's CSP is not bypassed for its own scripts
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        assert result == [], f"accessibility violations {what or page.url}:\n{json.dumps(result, indent=2)}"

    return check


def sign_in(page, base: str, token: str, path: str = "/") -> None:
    """Sign in through the form, as a person does, then open ``path``."""
    page.goto(f"{base}{path}")
    page.get_by_label("API token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in with the token").click()
    page.locator("#who").wait_for(state="visible")
