"""More partitions with events in flight: nothing lost, each payment still in order.

A payment's events are routed by its debtor account, modulo EVENT_PARTITIONS.
Raising the count moves some accounts to another queue while their earlier
events still wait in the old one, so a consumer can read a payment's approval
before its submission. What keeps it safe is not the broker but the inbox:
each consumer keeps a position per payment and parks an event that arrives
ahead of a gap (docs/lessons/ordering-and-partitions.md).
"""

import uuid

import pytest

from events.inbox import consume
from events.models import ConsumerPosition, Delivery, DeliveryStatus, InboxEntry
from events.publishers import KombuPublisher
from events.relay import relay_once
from events.topology import partition_of, partition_queue_name
from ledger.consumer import CONSUMER as LEDGER
from ledger.models import JournalEntry
from tests.events.conftest import outbox_event

pytestmark = pytest.mark.django_db(transaction=True)


def _accounts(count: int, moved: int) -> list[uuid.UUID]:
    """`count` accounts, of which at least `moved` change queue from 2 to 4."""
    accounts: list[uuid.UUID] = []
    while (
        len(accounts) < count
        or sum(partition_of(str(a), 2) != partition_of(str(a), 4) for a in accounts)
        < moved
    ):
        accounts.append(uuid.uuid4())
    return accounts


def test_more_partitions_mid_stream_lose_nothing_and_keep_each_payment_in_order(
    broker, settings, acme, alice, bob
):
    # given: payments submitted, and their submissions published, on 2 partitions
    settings.EVENT_PARTITIONS = 2
    payments = [(uuid.uuid4(), account) for account in _accounts(6, moved=3)]
    for payment_id, account in payments:
        outbox_event(
            "PaymentSubmitted",
            organisation=acme,
            submitted_by=alice,
            payment_id=payment_id,
            debtor_account_id=account,
        )
    assert relay_once(publisher=KombuPublisher("filesystem://")) == len(payments)

    # when: the count goes to 4 before the approvals are published
    settings.EVENT_PARTITIONS = 4
    for payment_id, account in payments:
        outbox_event(
            "PaymentApproved",
            organisation=acme,
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
            debtor_account_id=account,
        )
    assert relay_once(publisher=KombuPublisher("filesystem://")) == len(payments)
    # and the ledger reads the new queues first: the worst order for a payment
    outcomes = [
        consume(consumer="ledger", envelope=message.envelope, handlers=LEDGER.handlers)
        for partition in (3, 2, 1, 0)
        for message in broker.drain(partition_queue_name("ledger", partition))
    ]

    # then: each delivery was applied or parked (a parked one is applied when
    # its submission comes); every event applied once; nothing left queued
    assert set(outcomes) == {DeliveryStatus.APPLIED, DeliveryStatus.PARKED}
    assert InboxEntry.objects.filter(
        consumer="ledger", status=DeliveryStatus.APPLIED
    ).count() == 2 * len(payments)
    assert not [q for q in broker.waiting() if q.startswith("ledger.")]
    # and an approval that overtook its submission waited, parked, for it
    moved = [
        payment_id
        for payment_id, account in payments
        if partition_of(str(account), 2) != partition_of(str(account), 4)
    ]
    parked = set(
        Delivery.objects.filter(
            consumer="ledger", status=DeliveryStatus.PARKED
        ).values_list("event_id", flat=True)
    )
    approvals_parked = InboxEntry.objects.filter(
        consumer="ledger", event_id__in=parked, event_type="PaymentApproved"
    )
    assert {str(e.subject) for e in approvals_parked} <= {str(p) for p in moved}
    assert approvals_parked.exists()
    # and each payment is at its last event, booked once
    assert set(
        ConsumerPosition.objects.filter(consumer="ledger").values_list(
            "subject", "last_sequence"
        )
    ) == {(str(payment_id), 2) for payment_id, _ in payments}
    assert JournalEntry.objects.count() == len(payments)
