"""The settlement consumer, declared once: processing, apart from receiving.

Receiving (the API and the landing folder) stores a statement and announces
it; this consumer processes it, on its own workers, and can be replayed.
Its worker: `celery -A events.worker_main:settlement worker`.
"""

from events.consumers import Consumer
from settlement.handlers import HANDLERS

CONSUMER = Consumer(
    name="settlement",
    consumes={
        ("PaymentSubmitted", 1),
        ("PaymentApproved", 2),
        ("SettlementFileReceived", 1),
        ("SettlementFileReprocessRequested", 1),
    },
    handlers=HANDLERS,
    effects={
        "PaymentSubmitted": "learns the organisation's account",
        "PaymentApproved": "expects it in a statement",
        "SettlementFileReceived": "processes the statement: lines and matches",
        "SettlementFileReprocessRequested": "processes it again; nothing twice",
    },
)
