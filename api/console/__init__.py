"""The review console: the browser's screen on the API, served by the same app.

Pages are public shells rendered by Jinja; a small JavaScript module signs in (an API token, or
single sign-on with PKCE) and calls the JSON API with the user's bearer token, which enforces the
roles. Assets are served from ``static/`` with long cache lifetimes under versioned URLs, and
every console response carries a Content-Security-Policy that allows only the app's own origin
(plus, for single sign-on, the identity provider's token endpoint).
"""
