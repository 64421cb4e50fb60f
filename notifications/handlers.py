"""Turn payment events into notifications: approvers on submit and withdrawal,
the submitter on a decision and on settlement.

The consumer machinery (events/inbox.py) calls these inside one transaction with
the inbox row, at most once per event; e-mails leave only after that commit.
"""

from collections.abc import Callable

from events.burst_reads import read_once
from events.envelope import Event
from notifications import messages
from notifications.services import notification_create_many
from organisations.selectors import active_member_list, approver_list


def _submitter(data: dict) -> tuple:
    # The payload names the submitter; a user deleted since is told nothing.
    # The organisation filter keeps a notification inside its tenant.
    user_id, organisation_id = data["submitted_by"]["id"], data["organisation_id"]
    return read_once(
        ("member", organisation_id, user_id),
        lambda: tuple(
            active_member_list(user_id=user_id, organisation_id=organisation_id)
        ),
    )


def _approvers(organisation_id: str) -> tuple:
    # Asked by nearly every submission in a burst, answered once for it.
    return read_once(
        ("approvers", organisation_id),
        lambda: tuple(approver_list(organisation_id=organisation_id)),
    )


def _deciders(data: dict) -> list:
    # Every approver except the submitter (maker-checker): who may decide.
    return [
        user
        for user in _approvers(data["organisation_id"])
        if user.pk != data["submitted_by"]["id"]
    ]


def on_payment_submitted(event: Event) -> None:
    """Ask every approver except the submitter to decide on the payment."""
    subject, body = messages.submitted_message(event.data)
    notification_create_many(
        event=event, recipients=_deciders(event.data), subject=subject, body=body
    )


def on_payment_cancelled(event: Event) -> None:
    """Tell those asked to decide that the payment was withdrawn before a decision."""
    subject, body = messages.cancelled_message(event.data)
    notification_create_many(
        event=event, recipients=_deciders(event.data), subject=subject, body=body
    )


def on_payment_approved(event: Event) -> None:
    """Tell the submitter that the payment was approved (reads PaymentApproved v2)."""
    subject, body = messages.approved_message(event.data)
    notification_create_many(
        event=event, recipients=_submitter(event.data), subject=subject, body=body
    )


def on_payment_settled(event: Event) -> None:
    """Tell the submitter that the bank's statement settled the payment."""
    subject, body = messages.settled_message(event.data)
    notification_create_many(
        event=event, recipients=_submitter(event.data), subject=subject, body=body
    )


def on_settlement_mismatch_detected(event: Event) -> None:
    """Tell the organisation's approvers that a statement line needs a person."""
    subject, body = messages.mismatch_message(event.data)
    notification_create_many(
        event=event,
        recipients=_approvers(event.data["organisation_id"]),
        subject=subject,
        body=body,
    )


def on_payment_rejected(event: Event) -> None:
    """Tell the submitter that the payment was rejected, and why."""
    subject, body = messages.rejected_message(event.data)
    notification_create_many(
        event=event, recipients=_submitter(event.data), subject=subject, body=body
    )


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    ("PaymentSubmitted", 1): on_payment_submitted,
    ("PaymentApproved", 2): on_payment_approved,
    ("PaymentRejected", 1): on_payment_rejected,
    ("PaymentCancelled", 1): on_payment_cancelled,
    ("PaymentSettled", 1): on_payment_settled,
    ("SettlementMismatchDetected", 1): on_settlement_mismatch_detected,
}
