"""The notifications consumer, declared once: what it reads, what it does, and
the sweep its worker runs.

Its worker: `celery -A events.worker_main:notifications worker`
(events/consumers.py).
"""

from events.consumers import Consumer, Periodic
from notifications.handlers import HANDLERS
from notifications.sender import email_sender

CONSUMER = Consumer(
    name="notifications",
    consumes={
        ("PaymentSubmitted", 1),
        ("PaymentApproved", 2),
        ("PaymentRejected", 1),
        ("PaymentCancelled", 1),
        ("PaymentSettled", 1),
        ("SettlementMismatchDetected", 1),
    },
    handlers=HANDLERS,
    effects={
        "PaymentSubmitted": "tells the approvers",
        "PaymentApproved": "tells the submitter",
        "PaymentRejected": "tells the submitter",
        "PaymentCancelled": "tells the approvers it was withdrawn",
        "PaymentSettled": "tells the submitter it is paid",
        "SettlementMismatchDetected": "tells the approvers of the exception",
    },
    # The sweep sends what the after-commit hand-off missed (a crash, a mail
    # server error whose backoff has passed); the timer only wakes the sender.
    periodic=[Periodic(email_sender.sweep, every="NOTIFICATION_EMAIL_SWEEP_SECONDS")],
    # SMTP must hold up neither an event nor the worker's loop: in the worker
    # (and its forked children) e-mails go out on a background thread.
    worker_init=email_sender.enable,
)
