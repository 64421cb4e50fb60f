"""Row locks for payments, taken at the start of a command's short transaction."""

import uuid

from django.core.exceptions import ValidationError

from config.db.compiled import CompiledGet
from payments.models import Payment


def _payment_locked(payment_id, organisation_id):
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("debtor_account", "submitted_by")
        .filter(id=payment_id, organisation_id=organisation_id)
    )


# Every decision runs it: built and compiled once (config/db/compiled.py).
_PAYMENT_LOCK = CompiledGet(
    _payment_locked,
    fields=lambda: {
        "payment_id": Payment._meta.pk,
        "organisation_id": Payment._meta.get_field("organisation"),
    },
    probe={"payment_id": uuid.uuid4(), "organisation_id": uuid.uuid4()},
)


def payment_lock(*, payment_id, organisation_id) -> Payment | None:
    """Lock and return the organisation's payment; None if it has none by that id.

    Must run inside `transaction.atomic()`. On PostgreSQL a second approver waits
    here until the first commits, then sees the new status and is refused: that is
    what makes ten concurrent approvals produce exactly one PaymentApproved. SQLite
    gets the same effect from its IMMEDIATE transactions (one writer at a time).
    """
    try:
        return _PAYMENT_LOCK.get(payment_id=payment_id, organisation_id=organisation_id)
    except (ValueError, ValidationError):
        # Another tenant's payment is "not found", never "forbidden"; so is an id
        # that is no UUID at all (Django raises ValidationError for it). Returned,
        # not raised: the caller's block has no savepoint (payments/services.py).
        return None
