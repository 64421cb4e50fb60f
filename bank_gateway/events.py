"""The event the bank gateway emits: PaymentReleased, one per payment in a file."""

from datetime import datetime

from bank_gateway.models import PaymentFile, Release
from contracts.subjects import payment_subject
from events.models import OutboxMessage
from events.outbox import outbox_message

SOURCE = "/bank-gateway"


def payment_released_message(
    *, release: Release, payment_file: PaymentFile, at: datetime
) -> OutboxMessage:
    """PaymentReleased, for the transaction that releases the payment to publish.

    Its subject is the payment's release, not the payment: consumers keep a
    position per subject, and the payment's own sequence belongs to payments.
    The partition is the debtor account's, as for the payment's own events.
    """
    return outbox_message(
        event_type="PaymentReleased",
        version=1,
        source=SOURCE,
        subject=payment_subject(release.payment_id, "release"),
        partition_key=str(release.debtor_account_id),
        sequence=1,
        data={
            "payment_id": str(release.payment_id),
            "organisation_id": str(release.organisation_id),
            "debtor_account_id": str(release.debtor_account_id),
            "end_to_end_id": release.end_to_end_id,
            "amount": {"value": release.amount, "currency": release.currency},
            "file_id": str(payment_file.id),
            "message_id": payment_file.message_id,
            "released_at": at.isoformat(),
        },
    )
