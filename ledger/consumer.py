"""The ledger consumer, declared once: what it reads and what it does with it.

Its worker: `celery -A events.worker_main:ledger worker` (events/consumers.py).
"""

from events.consumers import Consumer
from ledger.handlers import HANDLERS

CONSUMER = Consumer(
    name="ledger",
    consumes={("PaymentApproved", 2), ("PaymentSettled", 1)},
    handlers=HANDLERS,
    effects={
        "PaymentApproved": "books a pending journal entry",
        "PaymentSettled": "posts the entry: paid",
    },
)
