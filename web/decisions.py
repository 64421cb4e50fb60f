"""What the signed-in user may do with a payment, and if not, why not.

The same rules as payments/services.py, asked in advance so the page shows only
the buttons that can work and explains the others. The service still decides:
a forged request is refused there. See docs/lessons/maker-checker-and-tenancy.md.
"""

from dataclasses import dataclass

from payments.models import PaymentStatus


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def _not_pending(payment) -> Decision:
    label = PaymentStatus(payment.status).label.lower()
    return Decision(
        False,
        f"This payment is {label}: only a payment awaiting approval can change.",
    )


def approval_decision(*, payment, user, membership) -> Decision:
    """May the user approve or reject the payment? (The same rule covers both.)"""
    if payment.status != PaymentStatus.PENDING_APPROVAL:
        return _not_pending(payment)
    if payment.submitted_by_id == user.pk:
        return Decision(
            False,
            "You submitted this payment: a second person must approve it "
            "(maker-checker).",
        )
    if membership is None or not membership.is_approver:
        return Decision(False, "Only an approver may approve or reject payments.")
    return Decision(True)


def cancel_decision(*, payment, user) -> Decision:
    if payment.status != PaymentStatus.PENDING_APPROVAL:
        return _not_pending(payment)
    if payment.submitted_by_id != user.pk:
        submitter = payment.submitted_by.get_username()
        return Decision(
            False, f"Only {submitter}, who submitted it, may cancel this payment."
        )
    return Decision(True)
