"""The roles a user can have, and the groups of them the API grants operations to.

The users table is the app's truth for a user's role (an identity provider's roles claim may feed
it, see pipeline.identity.oidc_users). Each API operation names the roles that may call it; an
admin may do everything.
"""

from __future__ import annotations

from pipeline.vocabulary import USER_ROLES

AGENT = "agent"
OPERATOR = "operator"
AUDITOR = "auditor"
ADMIN = "admin"

ROLES: tuple[str, ...] = USER_ROLES

# What each role is for, in the words the README and the OpenAPI document use.
ROLE_DESCRIPTIONS = {
    AGENT: "search, read contracts and their PDFs, extract, submit reviews, quote refunds, chat, follow their own jobs",
    OPERATOR: "batches (extraction and portfolio refund quotes), job and batch status, worker checks, metrics",
    AUDITOR: "read-only: audit trails and metrics",
    ADMIN: "everything, including users and every user's tokens",
}

# Groups named by what they are for; ADMIN is in each.
AGENTS = (AGENT, ADMIN)
OPERATORS = (OPERATOR, ADMIN)
AUDITORS = (AUDITOR, ADMIN)
JOB_READERS = (AGENT, OPERATOR, ADMIN)
METRICS_READERS = (OPERATOR, AUDITOR, ADMIN)
ADMINS = (ADMIN,)
ANY_USER = ROLES
