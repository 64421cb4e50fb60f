"""The reconciliation consumer, declared once: what it reads and what it does.

Its worker: `celery -A events.worker_main:reconciliation worker`
(events/consumers.py).
"""

from events.consumers import Consumer
from reconciliation.handlers import HANDLERS

CONSUMER = Consumer(
    name="reconciliation",
    consumes={
        ("PaymentApproved", 2),
        ("PaymentSettled", 1),
        ("SettlementMismatchDetected", 1),
    },
    handlers=HANDLERS,
    effects={
        "PaymentApproved": "expects the settlement",
        "PaymentSettled": "shows the expectation matched, with its line",
        "SettlementMismatchDetected": "shows the exception on the expectation",
    },
)
