"""SQLAlchemy 2.0 typed models and the engine/session factory."""

from models.audit import AUDIT_EVENT_TYPES, AuditEvent
from models.base import Base
from models.chat import ChatMessage
from models.contract import Contract
from models.extraction import EXTRACTION_STATUSES, FIELD_NAMES, REFUND_METHODS, Correction, Extraction
from models.job import BATCH_KINDS, JOB_KINDS, JOB_STATUSES, QUEUES, Batch, Job
from models.refund_quote import RefundQuote
from models.token import ApiToken
from models.user import USER_ROLES, User

__all__ = [
    "ApiToken",
    "AUDIT_EVENT_TYPES",
    "AuditEvent",
    "Base",
    "BATCH_KINDS",
    "Batch",
    "ChatMessage",
    "Contract",
    "Correction",
    "EXTRACTION_STATUSES",
    "Extraction",
    "FIELD_NAMES",
    "JOB_KINDS",
    "JOB_STATUSES",
    "Job",
    "QUEUES",
    "REFUND_METHODS",
    "RefundQuote",
    "USER_ROLES",
    "User",
]
