"""Payments as a consumer, declared once: it learns of release and settlement.

Its worker: `celery -A events.worker_main:payments worker` (events/consumers.py).
"""

from events.consumers import Consumer
from payments.handlers import HANDLERS

CONSUMER = Consumer(
    name="payments",
    consumes={("PaymentReleased", 1), ("PaymentSettled", 1)},
    handlers=HANDLERS,
    effects={
        "PaymentReleased": "marks the payment released",
        "PaymentSettled": "marks the payment settled",
    },
)
