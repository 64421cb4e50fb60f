"""Through the inbox: a redelivered approval is skipped, so it is booked once."""

from events.inbox import consume
from ledger.handlers import HANDLERS
from ledger.models import JournalEntry
from tests.events_builders import payment_event


def test_a_redelivered_approval_is_booked_once(acme, alice, bob):
    # given: the payment's submission, which the ledger does not act on
    fields = {"organisation": acme, "submitted_by": alice}
    submitted = payment_event("PaymentSubmitted", **fields)
    approved = payment_event(
        "PaymentApproved",
        actor=bob,
        payment_id=submitted.data["payment_id"],
        debtor_account_id=submitted.data["debtor_account_id"],
        **fields,
    )

    # when: approval first (parked), then the submission, then the approval again
    statuses = [
        consume(consumer="ledger", envelope=event.envelope, handlers=HANDLERS)
        for event in (approved, submitted, approved)
    ]

    # then
    assert statuses == ["parked", "applied", "skipped_duplicate"]
    entry = JournalEntry.objects.get()
    assert str(entry.event_id) == approved.id
