"""The console's pages and assets as the app serves them: public shells, a strict
Content-Security-Policy, versioned assets cached for a year, nothing on the audit trail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import AuditEvent

PAGES = ("/", "/agent", "/queue", "/batches", "/audit", "/admin", "/sign-in/callback")


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_a_public_shell_with_a_strict_policy(client, path):
    response = client.get(path, anonymous=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    html = response.get_data(as_text=True)
    assert 'for="api-token">API token</label>' in html
    assert "<script>" not in html and " style=" not in html  # nothing inline: the policy would refuse it
    assert not re.search(r"""(src|href)=["']https?://""", html), "nothing is loaded from another origin"


def test_assets_are_versioned_and_cached_for_a_year(client):
    html = client.get("/agent", anonymous=True).get_data(as_text=True)
    scripts = re.findall(r'src="(/console/static/[^"]+)"', html)
    styles = re.findall(r'href="(/console/static/[^"]+)"', html)
    assert scripts == [scripts[0]] and "agent.js?v=" in scripts[0] and styles
    for url in (scripts[0], styles[0].replace("&amp;", "&")):
        response = client.get(url, anonymous=True)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert client.get(scripts[0], anonymous=True).mimetype in ("text/javascript", "application/javascript")
    unversioned = client.get("/console/static/console.js", anonymous=True)
    assert unversioned.status_code == 200 and unversioned.headers["Cache-Control"] == "no-cache"
    missing = client.get("/console/static/nope.js", anonymous=True)
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    assert client.get("/console/static/../views.py", anonymous=True).status_code == 404


def test_every_module_the_pages_import_is_served(client):
    """Module imports are relative ('./console.js'): each one must exist beside the page's script."""
    from api.console.views import STATIC

    for script in STATIC.glob("*.js"):
        for imported in re.findall(r'from "\./([^"]+)"', script.read_text()):
            assert (STATIC / imported).is_file(), f"{script.name} imports a missing {imported}"


def test_pages_are_not_audited(client, session_factory):
    for path in PAGES:
        client.get(path, anonymous=True)
    client.get("/console/static/console.js", anonymous=True)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_single_sign_on_is_off_without_a_client_id(client):
    assert client.get("/console/sso.json", anonymous=True).get_json() == {"enabled": False}
    assert "sso-sign-in" not in client.get("/", anonymous=True).get_data(as_text=True)


def test_single_sign_on_settings_come_from_the_provider(app, settings):
    from api import create_app
    from pipeline.identity import oidc
    from tests.support.oidc_provider import running_mock_provider

    with running_mock_provider() as issuer:
        oidc.reset_verifiers()
        sso_app = create_app(settings.replace(oidc_issuer=issuer, oidc_audience=("console",), oidc_client_id="console"))
        client = sso_app.test_client()
        body = client.get("/console/sso.json", anonymous=True).get_json()
        assert body == {
            "enabled": True, "issuer": issuer, "client_id": "console", "scope": "openid email profile",
            "authorization_endpoint": f"{issuer}/oauth2/authorize", "token_endpoint": f"{issuer}/oauth2/token",
        }
        page = client.get("/", anonymous=True)
        assert 'id="sso-sign-in"' in page.get_data(as_text=True)
        assert f"connect-src 'self' {issuer}" in page.headers["Content-Security-Policy"]
    oidc.reset_verifiers()
    sso_app = create_app(settings.replace(oidc_issuer=issuer, oidc_audience=("console",), oidc_client_id="console"))
    body = sso_app.test_client().get("/console/sso.json", anonymous=True).get_json()
    assert body["enabled"] is False and "cannot be reached" in body["message"]
    oidc.reset_verifiers()
