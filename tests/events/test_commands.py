"""replay_events re-sends stored events to one consumer only; prune_outbox keeps every
unpublished row. Replayed messages are read back from the broker's queues.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from events.inbox import consume
from events.models import DeliveryStatus, OutboxMessage
from tests.events.api.conftest import approved_payment, relay_all
from tests.events.conftest import outbox_event, queue_of

pytestmark = pytest.mark.django_db

CONSUMERS = ["ledger", "notifications", "reconciliation"]


@pytest.fixture(autouse=True)
def _three_consumers(settings):
    settings.EVENT_CONSUMERS = CONSUMERS
    settings.EVENT_PARTITIONS = 4


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def ids(delivered) -> list[str]:
    return [message.envelope["id"] for message in delivered]


# --- replay_events ------------------------------------------------------------


def test_replay_sends_published_events_in_order_to_one_consumers_queues_only(
    broker, settings, alice, bob, acme_eur
):
    # given: two payments published and taken by every consumer, and one event
    # the relay has not published yet
    _, first_rows = approved_payment(maker=alice, approver=bob, account=acme_eur)
    _, second_rows = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    for consumer in CONSUMERS:
        broker.drain(queue_of(consumer, first_rows[0]))
    approved_payment(maker=alice, approver=bob, account=acme_eur)
    # when
    out = run("replay_events", "--consumer", "ledger")
    # then: only ledger's queue, the published events, in their original order
    assert "Replayed 4 events to ledger" in out
    queue = queue_of("ledger", first_rows[0])
    assert broker.waiting() == {queue: 4}
    replayed = broker.drain(queue)
    assert ids(replayed) == [str(r.event_id) for r in first_rows + second_rows]
    assert replayed[0].headers["task"] == "payments.events"


def test_replayed_events_the_consumer_already_applied_are_skipped(
    broker, settings, alice, bob, acme_eur
):
    # given: ledger applied the payment's events
    _, rows = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    for message in broker.drain(queue_of("ledger", rows[0])):
        consume(consumer="ledger", envelope=message.envelope, handlers={})
    # when
    run("replay_events", "--consumer", "ledger")
    # then
    outcomes = [
        consume(consumer="ledger", envelope=m.envelope, handlers={})
        for m in broker.drain(queue_of("ledger", rows[0]))
    ]
    assert outcomes == [DeliveryStatus.SKIPPED_DUPLICATE] * 2


def test_replay_filters_by_payment_and_by_time(broker, settings, alice, bob, acme_eur):
    # given: an old payment and a recent one
    old, old_rows = approved_payment(maker=alice, approver=bob, account=acme_eur)
    _, recent_rows = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    OutboxMessage.objects.filter(subject=str(old.id)).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    for consumer in CONSUMERS:
        broker.drain(queue_of(consumer, old_rows[0]))
    queue = queue_of("reconciliation", old_rows[0])
    since = (timezone.now() - timedelta(days=1)).isoformat()
    # when / then
    assert "Replayed 2 events" in run(
        "replay_events", "--consumer", "reconciliation", "--payment", str(old.id)
    )
    assert ids(broker.drain(queue)) == [str(r.event_id) for r in old_rows]
    assert "Replayed 2 events" in run(
        "replay_events", "--consumer", "reconciliation", "--since", since
    )
    assert ids(broker.drain(queue)) == [str(r.event_id) for r in recent_rows]
    assert broker.waiting() == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--consumer", "billing"], "No consumer named 'billing'"),
        (["--consumer", "ledger", "--payment", "42"], "is not a UUID"),
        (["--consumer", "ledger", "--since", "yesterday"], "is not an ISO 8601"),
    ],
)
def test_replay_refuses_bad_arguments_and_sends_nothing(
    broker, acme, alice, args, message
):
    outbox_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    OutboxMessage.objects.update(published_at=timezone.now())
    with pytest.raises(CommandError, match=message):
        run("replay_events", *args)
    assert broker.waiting() == {}


# --- prune_outbox -------------------------------------------------------------


def aged(row: OutboxMessage, *, days: int, published: bool) -> OutboxMessage:
    moment = timezone.now() - timedelta(days=days)
    OutboxMessage.objects.filter(id=row.id).update(
        created_at=moment, published_at=moment if published else None
    )
    return row


def test_prune_deletes_published_rows_past_retention_and_never_unpublished_ones(
    settings, acme, alice
):
    # given
    settings.OUTBOX_RETENTION_DAYS = 7
    parties = {"organisation": acme, "submitted_by": alice}
    old_published = aged(outbox_event(**parties), days=30, published=True)
    old_unpublished = aged(outbox_event(**parties), days=30, published=False)
    recent_published = aged(outbox_event(**parties), days=2, published=True)
    # when
    out = run("prune_outbox")
    # then
    assert "Pruned 1 published outbox rows older than 7 days" in out
    remaining = set(OutboxMessage.objects.values_list("id", flat=True))
    assert remaining == {old_unpublished.id, recent_published.id}
    assert old_published.id not in remaining


def test_prune_with_a_shorter_period_still_keeps_unpublished_rows(acme, alice):
    # given
    parties = {"organisation": acme, "submitted_by": alice}
    published = aged(outbox_event(**parties), days=2, published=True)
    unpublished = aged(outbox_event(**parties), days=400, published=False)
    # when
    out = run("prune_outbox", "--older-than-days", "1")
    again = run("prune_outbox", "--older-than-days", "0")
    # then
    assert "Pruned 1 " in out
    assert "Pruned 0 " in again
    assert not OutboxMessage.objects.filter(id=published.id).exists()
    assert list(OutboxMessage.objects.values_list("id", flat=True)) == [unpublished.id]


def test_prune_refuses_a_negative_period(acme, alice):
    outbox_event(organisation=acme, submitted_by=alice)
    with pytest.raises(CommandError, match="0 or more"):
        run("prune_outbox", "--older-than-days", "-1")
    assert OutboxMessage.objects.count() == 1
