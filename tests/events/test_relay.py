"""The relay on the embedded filesystem broker: fan-out, order, fencing, failures.

Each test gets a private broker folder (the `broker` fixture); messages are read
back from the consumers' partition queues exactly as a worker would take them.
"""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import OutboxMessage
from events.publishers import BrokerUnavailable, KombuPublisher, SettledOnSend
from events.relay import (
    LeadershipLost,
    outbox_claim,
    outbox_mark_published,
    relay_once,
)
from events.topology import (
    EXCHANGE,
    STREAM,
    partition_of,
    partition_queue_name,
    routing_key,
)
from payments.services import payment_approve
from tests.events.conftest import outbox_event, queue_of
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

CONSUMERS = ["ledger", "notifications", "reconciliation"]


def publisher() -> KombuPublisher:
    return KombuPublisher("filesystem://")


def backoff_elapsed() -> None:
    """Move every refused row's wait into the past, as if the time had passed."""
    OutboxMessage.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def unpublished() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(published_at__isnull=True).order_by("id"))


def all_queues(consumers, partitions: int) -> list[str]:
    return [partition_queue_name(c, n) for c in consumers for n in range(partitions)]


class Recording(KombuPublisher):
    """The real filesystem publisher, keeping what it was asked to publish."""

    def __init__(self):
        super().__init__("filesystem://")
        self.sent = []

    def publish_batch(self, messages):
        self.sent.extend(messages)
        return super().publish_batch(messages)


class BrokerAway(SettledOnSend):
    """A publisher whose broker cannot be reached."""

    def publish_batch(self, messages):
        raise BrokerUnavailable("[Errno 111] Connection refused")


class SecondOfThreeRefused(SettledOnSend):
    """A publisher whose broker confirms the 1st and 3rd message but not the 2nd."""

    def __init__(self):
        self.batches = []

    def publish_batch(self, messages):
        self.batches.append(messages)
        return [None, "nacked by the broker", None]


class LockGone:
    """A leadership whose lock connection has died."""

    def held(self) -> bool:
        return False


class SlowLockCheck:
    """A leadership that still holds the lock, but takes its time to say so."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def held(self) -> bool:
        time.sleep(self.seconds)
        return True


class TakenOverMidBatch(SettledOnSend):
    """A real publisher; while it publishes, another relay claims the same rows."""

    def __init__(self, inner):
        self.inner = inner
        self.rival = None

    def publish_batch(self, messages):
        self.rival = outbox_claim(batch_size=100)
        return self.inner.publish_batch(messages)


def test_each_event_is_published_once_and_fans_out_to_every_consumer(
    broker, settings, alice, bob, acme_eur
):
    # given: two payments, each submitted and approved: four outbox rows
    settings.EVENT_CONSUMERS = CONSUMERS
    for _ in range(2):
        payment = payment_submitted(by=alice, account=acme_eur)
        payment_approve(payment_id=payment.id, actor=bob)
    rows = list(OutboxMessage.objects.order_by("id"))
    assert len(rows) == 4

    relay = Recording()

    # when
    published = relay_once(publisher=relay)

    # then: one publish per event, to the stream's exchange, naming no consumer
    assert published == 4
    assert [out.row_id for out in relay.sent] == [row.id for row in rows]
    assert {out.exchange for out in relay.sent} == {EXCHANGE.name}
    # and every consumer's partition queue of each event holds it exactly once
    delivered = {
        queue: broker.drain(queue)
        for queue in all_queues(CONSUMERS, settings.EVENT_PARTITIONS)
    }
    for consumer in CONSUMERS:
        for row in rows:
            own = queue_of(consumer, row)
            copies = [
                (queue, message)
                for queue, messages in delivered.items()
                if queue.startswith(f"{consumer}.")
                for message in messages
                if message.envelope["id"] == str(row.event_id)
            ]
            assert [queue for queue, _ in copies] == [own]
            message = copies[0][1]
            assert message.properties["delivery_info"]["routing_key"] == routing_key(
                row.event_type, partition_of(row.partition_key)
            )
    assert sum(len(messages) for messages in delivered.values()) == 4 * 3
    assert broker.waiting() == {}
    # and every row is marked published, its claim cleared
    for row in OutboxMessage.objects.all():
        assert row.published_at is not None
        assert row.claim_token is None
        assert row.attempts == 1
        assert row.last_error == ""


def test_the_message_is_a_celery_protocol_2_json_task_carrying_the_envelope(
    broker, acme, alice
):
    # given
    row = outbox_event(organisation=acme, submitted_by=alice)

    # when
    relay_once(publisher=publisher())

    # then
    [message] = broker.drain(queue_of("ledger", row))
    assert message.content_type == "application/json"
    assert message.headers["task"] == STREAM
    assert message.headers["id"] == str(row.event_id)
    assert message.headers["retries"] == 0
    assert message.headers["event_type"] == "PaymentApproved"
    args, kwargs, embed = message.task_message
    assert args == [row.envelope]
    assert kwargs == {}
    assert set(embed) == {"callbacks", "errbacks", "chain", "chord"}


def test_published_rows_are_not_published_again(broker, acme, alice):
    # given
    row = outbox_event(organisation=acme, submitted_by=alice)
    relay_once(publisher=publisher())
    broker.drain(queue_of("ledger", row))

    # when
    published = relay_once(publisher=publisher())

    # then
    assert published == 0
    assert broker.drain(queue_of("ledger", row)) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cycle_of_one_event_claims_in_one_transaction_and_marks_in_one_statement(
    broker, acme, alice
):
    # given: one row to publish, nothing refused or failed
    row = outbox_event(organisation=acme, submitted_by=alice)

    # when
    with CaptureQueriesContext(connection) as queries:
        published = relay_once(publisher=publisher())

    # then: the blockers' read and the claim share a transaction; the mark,
    # fenced by the claim's token and lease, is one statement of its own (a
    # transaction around it was two round trips more every cycle)
    assert published == 1
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements == ["BEGIN", "SELECT", "UPDATE", "COMMIT", "UPDATE"]
    assert OutboxMessage.objects.get(pk=row.pk).published_at is not None
    assert OutboxMessage.objects.get(pk=row.pk).claim_token is None


def test_events_of_one_partition_arrive_in_the_order_they_were_committed(
    broker, acme, alice
):
    # given: many events of one debtor account, so all share one partition
    debtor_account_id = uuid.uuid4()
    rows = [
        outbox_event(
            "PaymentSubmitted",
            organisation=acme,
            submitted_by=alice,
            debtor_account_id=debtor_account_id,
        )
        for _ in range(120)
    ]

    # when
    relay = publisher()
    relay_once(publisher=relay, batch_size=40)
    relay_once(publisher=relay, batch_size=40)
    relay_once(publisher=relay, batch_size=40)

    # then: each consumer reads them back in commit (id) order
    expected = [str(row.event_id) for row in rows]
    for consumer in CONSUMERS:
        received = [m.envelope["id"] for m in broker.drain(queue_of(consumer, rows[0]))]
        assert received == expected, f"{consumer} received the partition out of order"


def test_a_relay_whose_claim_was_taken_over_does_not_mark_the_rows(broker, acme, alice):
    # given: a relay claims two rows; another relay then claims them again
    first = outbox_event(organisation=acme, submitted_by=alice)
    second = outbox_event(organisation=acme, submitted_by=alice)
    stale = outbox_claim(batch_size=10)
    rival = outbox_claim(batch_size=10)

    # when: the first relay, having published, tries to mark them
    marked = outbox_mark_published(claim=stale, row_ids=[first.id, second.id])

    # then: nothing changes; the rows belong to the new owner
    assert marked == 0
    for row in OutboxMessage.objects.filter(id__in=[first.id, second.id]):
        assert row.published_at is None
        assert row.claim_token == rival.token
    # and the new owner can still mark them
    assert outbox_mark_published(claim=rival, row_ids=[first.id, second.id]) == 2


def test_relay_once_leaves_rows_to_the_relay_that_took_them_over(broker, acme, alice):
    # given
    row = outbox_event(organisation=acme, submitted_by=alice)
    taken_over = TakenOverMidBatch(publisher())

    # when
    published = relay_once(publisher=taken_over)

    # then: the message went out (a duplicate later is allowed), the row is not
    # marked by the relay that lost its claim
    assert published == 0
    assert len(broker.drain(queue_of("ledger", row))) == 1
    row.refresh_from_db()
    assert row.published_at is None
    assert row.claim_token == taken_over.rival.token


def test_a_relay_that_lost_its_lock_publishes_nothing_and_gives_the_rows_back(
    broker, acme, alice
):
    # given
    row = outbox_event(organisation=acme, submitted_by=alice)
    relay = Recording()

    # when: it checks its lock after claiming, before publishing
    with pytest.raises(LeadershipLost):
        relay_once(publisher=relay, leadership=LockGone())

    # then: nothing went to the broker; the row waits, unclaimed, no attempt used
    assert relay.sent == []
    assert broker.waiting() == {}
    row.refresh_from_db()
    assert (row.published_at, row.claim_token, row.refusals) == (None, None, 0)


def test_a_claim_is_void_once_its_lease_has_run_out(broker, acme, alice):
    # given: a relay claimed a row and stalled past its lease before marking
    row = outbox_event(organisation=acme, submitted_by=alice)
    stalled = outbox_claim(batch_size=10)
    OutboxMessage.objects.filter(id=row.id).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )

    # when
    marked = outbox_mark_published(claim=stalled, row_ids=[row.id])

    # then: it marks nothing; the next cycle publishes the row again
    assert marked == 0
    row.refresh_from_db()
    assert row.published_at is None
    assert relay_once(publisher=publisher()) == 1


def test_a_claim_whose_lease_ran_out_before_publishing_is_not_published(
    broker, settings, acme, alice
):
    # given: a lease shorter than the relay's (slow) check of its lock
    settings.RELAY_CLAIM_LEASE_SECONDS = 0.2
    row = outbox_event(organisation=acme, submitted_by=alice)
    relay = Recording()

    # when
    published = relay_once(publisher=relay, leadership=SlowLockCheck(0.3))

    # then: nothing was sent; the row is free for the next claim
    assert published == 0
    assert relay.sent == []
    row.refresh_from_db()
    assert (row.published_at, row.claim_token, row.refusals) == (None, None, 0)
    settings.RELAY_CLAIM_LEASE_SECONDS = 60
    assert relay_once(publisher=relay) == 1


def test_a_row_committed_with_a_lower_id_after_a_higher_one_was_published_is_published(
    broker, acme, alice
):
    # given: a row with a high id is published first
    high = outbox_event(organisation=acme, submitted_by=alice)
    OutboxMessage.objects.filter(id=high.id).update(id=1_000_000)
    assert relay_once(publisher=publisher()) == 1
    # and only then a row with a lower id commits (its transaction was slower)
    low = outbox_event(organisation=acme, submitted_by=alice)
    OutboxMessage.objects.filter(id=low.id).update(id=999_999)

    # when
    published = relay_once(publisher=publisher())

    # then
    assert published == 1
    assert OutboxMessage.objects.get(id=999_999).published_at is not None
    ids = [m.envelope["id"] for m in broker.drain(queue_of("ledger", low))]
    assert str(low.event_id) in ids


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_late_commit_with_a_lower_id_is_still_published_on_postgres(
    broker, acme, alice
):
    # given: a transaction takes the lower id and stays open
    took_id, may_commit = threading.Event(), threading.Event()
    slow, account = {}, uuid.uuid4()

    def slow_producer():
        try:
            with transaction.atomic():
                slow["row"] = outbox_event(
                    organisation=acme, submitted_by=alice, debtor_account_id=account
                )
                took_id.set()
                may_commit.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_producer)
    thread.start()
    assert took_id.wait(10)
    fast = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=account
    )
    assert fast.id > slow["row"].id
    assert relay_once(publisher=publisher()) == 1  # only the committed, higher id

    # when: the lower id commits after the higher one was published
    may_commit.set()
    thread.join(10)
    published = relay_once(publisher=publisher())

    # then
    assert published == 1
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 0
    ledger_ids = [m.envelope["id"] for m in broker.drain(queue_of("ledger", fast))]
    assert ledger_ids == [str(fast.event_id), str(slow["row"].event_id)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claim_skips_rows_locked_by_another_relay_instead_of_waiting(
    broker, acme, alice
):
    # given: another relay's claim transaction holds the first row's lock
    locked = outbox_event(organisation=acme, submitted_by=alice)
    free = outbox_event(organisation=acme, submitted_by=alice)
    holding, may_release = threading.Event(), threading.Event()

    def other_relay():
        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update().filter(id=locked.id))
                holding.set()
                may_release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    assert holding.wait(10)

    # when
    try:
        claim = outbox_claim(batch_size=10)
    finally:
        may_release.set()
        thread.join(10)

    # then
    assert [row.id for row in claim.rows] == [free.id]


def test_broker_unavailable_keeps_the_rows_and_releases_the_claim(broker, acme, alice):
    # given
    account = uuid.uuid4()  # one debtor account: one partition, one order
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for _ in range(2)
    ]

    # when
    with pytest.raises(BrokerUnavailable):
        relay_once(publisher=BrokerAway())

    # then: nothing is lost; the rows wait, unclaimed, with the reason noted,
    # and no attempt was counted against them
    for row in unpublished():
        assert row.published_at is None
        assert row.claim_token is None
        assert row.claimed_until is None
        assert "Connection refused" in row.last_error
        assert row.refusals == 0
        assert row.next_attempt_at is None
    assert len(unpublished()) == 2
    # and once the broker is back they drain in order
    assert relay_once(publisher=publisher()) == 2
    ids = [m.envelope["id"] for m in broker.drain(queue_of("ledger", rows[0]))]
    assert ids == [str(row.event_id) for row in rows]
    assert all(row.last_error == "" for row in OutboxMessage.objects.all())


def test_an_unconfirmed_message_stops_the_batch_so_later_rows_cannot_overtake(
    broker, acme, alice
):
    # given
    account = uuid.uuid4()
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for _ in range(3)
    ]
    refusing = SecondOfThreeRefused()

    # when
    published = relay_once(publisher=refusing)

    # then: only the first is marked; the second waits for its backoff, the
    # third waits behind it, both unclaimed
    assert published == 1
    assert [m.row_id for m in refusing.batches[0]] == [row.id for row in rows]
    first, second, third = (OutboxMessage.objects.get(id=row.id) for row in rows)
    assert first.published_at is not None
    assert second.published_at is None and third.published_at is None
    assert second.claim_token is None and third.claim_token is None
    assert second.last_error == "nacked by the broker"
    assert second.refusals == 1 and second.next_attempt_at is not None
    assert third.held_behind == second.id
    # and once its wait is over, the second goes first, then the third
    backoff_elapsed()
    assert relay_once(publisher=publisher()) == 1
    assert relay_once(publisher=publisher()) == 1
    ids = [m.envelope["id"] for m in broker.drain(queue_of("ledger", rows[0]))]
    assert ids == [str(rows[1].event_id), str(rows[2].event_id)]


def test_a_fourth_consumer_receives_the_stream_with_no_change_to_payments_or_relay(
    broker, settings, alice, bob, acme_eur
):
    # given: a new consumer, known only to the settings
    settings.EVENT_CONSUMERS = [*settings.EVENT_CONSUMERS, "audit"]
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    rows = list(OutboxMessage.objects.order_by("id"))

    # when
    published = relay_once(publisher=publisher())

    # then: its partition queue has the whole payment stream, in order; the
    # others still get theirs from the same single publish per event
    assert published == 2
    audit_queue = queue_of("audit", rows[0])
    assert audit_queue == f"audit.p{partition_of(str(acme_eur.id))}"
    received = [m.envelope["id"] for m in broker.drain(audit_queue)]
    assert received == [str(row.event_id) for row in rows]
    assert len(broker.drain(queue_of("ledger", rows[0]))) == 2
