"""Chat about a contract: questions answered in background jobs, with verified sources.

Modules: ``accounts`` finds account numbers in a message, ``retrieval`` ranks passages of the
document, ``sessions`` keeps a session's messages in Redis with a sliding TTL (PostgreSQL holds
every message), ``service`` takes a message (API side) and answers it (job side).
"""
