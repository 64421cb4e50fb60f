"""Row locks for payments, taken at the start of a command's short transaction."""

from django.core.exceptions import ValidationError

from payments.models import Payment


def payment_lock(*, payment_id, organisation_id) -> Payment | None:
    """Lock and return the organisation's payment; None if it has none by that id.

    Must run inside `transaction.atomic()`. On PostgreSQL a second approver waits
    here until the first commits, then sees the new status and is refused: that is
    what makes ten concurrent approvals produce exactly one PaymentApproved. SQLite
    gets the same effect from its IMMEDIATE transactions (one writer at a time).
    """
    try:
        return (
            Payment.objects.select_for_update(of=("self",))
            .select_related("debtor_account", "submitted_by")
            .get(id=payment_id, organisation_id=organisation_id)
        )
    except (Payment.DoesNotExist, ValueError, ValidationError):
        # Another tenant's payment is "not found", never "forbidden"; so is an id
        # that is no UUID at all (Django raises ValidationError for it). Returned,
        # not raised: the caller's block has no savepoint (payments/services.py).
        return None
