"""The project's words, written once: the three extracted fields, the refund methods, the user
roles, the job kinds and queues.

No SQLAlchemy and no other import: models (CHECK constraints), the pipeline, the API's schemas,
the local answerer and the demo data all read them from here.
"""

from __future__ import annotations

FIELD_NAMES = ("gap_insurance_premium", "refund_calculation_method", "cancellation_fee")
MONEY_FIELDS = ("gap_insurance_premium", "cancellation_fee")
REFUND_METHODS = ("pro_rata", "rule_of_78", "short_rate", "actuarial")
USER_ROLES = ("agent", "operator", "auditor", "admin")
# Each kind is declared (task, queue, steps) in pipeline.kinds; the database allows these names.
JOB_KINDS = ("extraction", "chat", "maintenance", "batch", "refund_quote")
QUEUES = ("interactive", "bulk")
