"""Payments as a consumer: the facts of release and settlement move a payment on.

A payment's life after `approved` is not decided by a command but reported by
others: released to the bank (PaymentReleased), settled from its statement
(PaymentSettled). Payments reads them through its own inbox, like any
consumer, and imports neither app: only the contracts cross. Transitions are
monotonic, so a PaymentReleased that arrives after PaymentSettled (different
producers, no order between them) changes nothing.
See docs/lessons/transfer-vs-processing.md.
"""

from collections.abc import Callable
from datetime import datetime

from events.envelope import Event
from payments.models import Payment, PaymentStatus


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def on_payment_released(event: Event) -> None:
    """approved → released; a settled payment stays settled."""
    Payment.objects.filter(
        pk=event.data["payment_id"], status=PaymentStatus.APPROVED
    ).update(status=PaymentStatus.RELEASED, released_at=_at(event.data["released_at"]))


def on_payment_settled(event: Event) -> None:
    """approved or released → settled, with when it was matched."""
    Payment.objects.filter(
        pk=event.data["payment_id"],
        status__in=[PaymentStatus.APPROVED, PaymentStatus.RELEASED],
    ).update(status=PaymentStatus.SETTLED, settled_at=_at(event.data["settled_at"]))


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentReleased", 1): on_payment_released,
    ("PaymentSettled", 1): on_payment_settled,
}
