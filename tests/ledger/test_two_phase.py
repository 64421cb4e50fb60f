"""Two-phase books: an approval is pending (promised), its settlement posts it (paid).

Balances show posted, pending and available; a settlement for a payment the
ledger has not booked yet is refused (retried by the worker), never invented.
"""

import pytest
from django.db import transaction

from events.inbox import consume
from ledger.consumer import CONSUMER
from ledger.errors import EntryNotBookedYet
from ledger.models import EntryStatus, JournalEntry
from ledger.selectors import account_list
from payments.models import Payment
from payments.services import payment_approve
from tests.events_builders import payment_fact
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db


def deliver(envelope: dict, *, savepoint: bool = True) -> str:
    return consume(
        consumer="ledger",
        envelope=envelope,
        handlers=CONSUMER.handlers,
        consumes=CONSUMER.consumed_types,
        savepoint=savepoint,
    )


def settled(payment):
    return payment_fact(
        "PaymentSettled",
        payment=payment,
        source="/settlement",
        aspect="settlement",
        booking_date="2026-12-04",
        settled_at="2026-12-04T18:00:02+00:00",
    )


def balances(organisation) -> dict:
    return {
        a.kind: (a.posted, a.pending, a.available, a.balance)
        for a in account_list(organisation_id=organisation.pk)
    }


@pytest.fixture
def approved(alice, bob, acme_eur):
    from events.models import OutboxMessage

    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    for row in OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id"):
        deliver(row.envelope)
    return Payment.objects.get(pk=payment.pk)


def test_the_approval_is_pending_and_the_settlement_posts_it(approved, acme):
    # given: promised, not paid
    entry = JournalEntry.objects.get(payment_id=approved.id)
    amount = approved.amount
    assert entry.status == EntryStatus.PENDING
    assert balances(acme)["bank"] == (0, -amount, -amount, -amount)

    # when
    assert deliver(settled(approved).envelope) == "applied"

    # then: paid, with what the bank booked
    entry.refresh_from_db()
    assert entry.status == EntryStatus.POSTED
    assert entry.booked_amount == amount
    assert str(entry.booking_date) == "2026-12-04"
    assert balances(acme)["bank"] == (-amount, 0, -amount, -amount)
    assert balances(acme)["in_transit"] == (amount, 0, amount, amount)


def test_a_settlement_before_the_approval_is_booked_is_refused_and_changes_nothing(
    alice, acme_eur
):
    # given: a payment the ledger never heard approved
    payment = payment_submitted(by=alice, account=acme_eur)

    # when / then
    with pytest.raises(EntryNotBookedYet), transaction.atomic():
        deliver(settled(payment).envelope)
    assert not JournalEntry.objects.exists()


def test_a_settlement_delivered_twice_posts_once(approved):
    event = settled(approved)
    assert deliver(event.envelope) == "applied"
    assert deliver(event.envelope) == "skipped_duplicate"
    assert (
        JournalEntry.objects.get(payment_id=approved.id).posted_by_event_id is not None
    )


def test_in_a_burst_the_entry_waits_for_its_end_and_a_settlement_in_it_is_refused(
    alice, bob, acme_eur
):
    # A burst's fast pass writes the entry and its lines with its own rows, at
    # its end (events.inbox.rows_insert). A settlement of the same payment in
    # that burst must not pass silently: it finds no entry and raises, and the
    # worker runs the burst again event by event (events/bursts.py).
    from events.inbox import writes_deferred
    from events.models import OutboxMessage

    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    rows = OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id")
    envelopes = [row.envelope for row in rows]

    with pytest.raises(EntryNotBookedYet), transaction.atomic(), writes_deferred():
        for envelope in envelopes:
            deliver(envelope, savepoint=False)
        assert not JournalEntry.objects.exists()  # not before the burst's end
        deliver(settled(payment).envelope, savepoint=False)

    assert not JournalEntry.objects.exists()  # rolled back whole

    with transaction.atomic(), writes_deferred():
        for envelope in envelopes:
            deliver(envelope, savepoint=False)

    entry = JournalEntry.objects.get()
    assert entry.status == EntryStatus.PENDING
    assert sorted(line.amount for line in entry.lines.all()) == [payment.amount] * 2
