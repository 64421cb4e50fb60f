"""Payments as a consumer: the facts of release and settlement move a payment on.

A payment's life after `approved` is not decided by a command but reported by
others: released to the bank (PaymentReleased), settled from its statement
(PaymentSettled). Payments reads them through its own inbox, like any
consumer, and imports neither app: only the contracts cross. Transitions are
monotonic, so a PaymentReleased that arrives after PaymentSettled (different
producers, no order between them) changes nothing.
See docs/lessons/transfer-vs-processing.md.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from config.db.compiled import CompiledUpdate
from events.envelope import Event
from payments.models import Payment, PaymentStatus


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _field(name: str):
    return Payment._meta.get_field(name)


# Each runs for every event of its type: built and compiled once
# (config/db/compiled.py); the querysets stay the definition.
_RELEASED = CompiledUpdate(
    lambda payment_id, at: Payment.objects.filter(
        pk=payment_id, status=PaymentStatus.APPROVED
    ),
    changes=lambda payment_id, at: {
        "status": PaymentStatus.RELEASED,
        "released_at": at,
    },
    fields=lambda: {"payment_id": _field("id"), "at": _field("released_at")},
    probe={"payment_id": uuid.UUID(int=4), "at": datetime(2001, 1, 1, tzinfo=UTC)},
)
_SETTLED = CompiledUpdate(
    lambda payment_id, at: Payment.objects.filter(
        pk=payment_id, status__in=[PaymentStatus.APPROVED, PaymentStatus.RELEASED]
    ),
    changes=lambda payment_id, at: {"status": PaymentStatus.SETTLED, "settled_at": at},
    fields=lambda: {"payment_id": _field("id"), "at": _field("settled_at")},
    probe={"payment_id": uuid.UUID(int=5), "at": datetime(2001, 1, 1, tzinfo=UTC)},
)


def on_payment_released(event: Event) -> None:
    """approved → released; a settled payment stays settled."""
    _RELEASED.run(
        payment_id=event.data["payment_id"], at=_at(event.data["released_at"])
    )


def on_payment_settled(event: Event) -> None:
    """approved or released → settled, with when it was matched."""
    _SETTLED.run(payment_id=event.data["payment_id"], at=_at(event.data["settled_at"]))


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentReleased", 1): on_payment_released,
    ("PaymentSettled", 1): on_payment_settled,
}
