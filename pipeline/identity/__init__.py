"""Identity: who is calling. No Flask here; the API adapts it.

- :mod:`pipeline.identity.oidc` verifies a token from the lender's identity provider
  (OpenID Connect: signature against the provider's published keys, issuer, audience, times).
- :mod:`pipeline.identity.sso` maps a verified identity to a row in ``users``: linked once, by
  (issuer, subject); first found by a verified e-mail an admin registered; optionally provisioned.
- :mod:`pipeline.identity.errors` the failures, each with the HTTP status the API answers.

Submodules are imported where used: verifying a token needs no database, mapping one does.
"""
