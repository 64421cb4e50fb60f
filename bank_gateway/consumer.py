"""The bank gateway consumer, declared once: a fourth consumer of PaymentApproved.

Adding it changed nothing in payments or the relay: one declaration, its
handlers and its cut-off job (docs/lessons/transfer-vs-processing.md).
Its worker: `celery -A events.worker_main:bank_gateway worker`.
"""

from bank_gateway.handlers import HANDLERS
from bank_gateway.release import releases_collect
from events.consumers import Consumer, Periodic

CONSUMER = Consumer(
    name="bank_gateway",
    consumes={("PaymentApproved", 2)},
    handlers=HANDLERS,
    effects={"PaymentApproved": "releases it to the bank at the next cut-off"},
    periodic=(Periodic(releases_collect, "BANK_RELEASE_CUTOFF_SECONDS"),),
)
