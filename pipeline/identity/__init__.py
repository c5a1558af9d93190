"""Identity: who is calling and what they may do. No Flask here; the API adapts it (api/auth.py),
the CLI calls it directly.

- :mod:`pipeline.identity.tokens` API tokens: created, hashed, checked, listed, revoked.
- :mod:`pipeline.identity.oidc` verifies a token from the lender's identity provider
  (OpenID Connect: signature against the provider's published keys, issuer, audience, times).
- :mod:`pipeline.identity.sso` maps a verified identity to a row in ``users``: linked once, by
  (issuer, subject); first found by a verified e-mail an admin registered; optionally provisioned.
- :mod:`pipeline.identity.roles` the roles and the groups of them operations are granted to.
- :mod:`pipeline.identity.errors` the sign-on failures, each with the HTTP status the API answers.

Submodules are imported where used: verifying a token needs no database, mapping one does.
"""
