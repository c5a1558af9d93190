"""Who is calling and what they may do: API tokens, OpenID Connect sign-in, roles.

Free of Flask: the API adapts it (api/auth.py), the CLI calls it directly.
"""
