"""replay_events re-sends stored events to one consumer only; prune_outbox keeps every
unpublished row, prune_inbox every held inbox row, prune_deliveries the story of
every held event; run_housekeeping runs them all and is in the process list.
Replayed messages are read back from the broker's queues.
"""

import os
import signal
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.utils import timezone

from api.models import IdempotencyKey
from events.inbox import consume
from events.models import Delivery, DeliveryStatus, InboxEntry, OutboxMessage
from launcher.compose import compose_services
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


# --- prune_inbox, prune_deliveries ------------------------------------------------

HELD = [DeliveryStatus.PARKED, DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED]


def inbox_row(status: str, *, days: int, organisation, submitted_by) -> InboxEntry:
    """An inbox row of ledger in `status`, received (and applied) `days` ago."""
    row = outbox_event(organisation=organisation, submitted_by=submitted_by)
    moment = timezone.now() - timedelta(days=days)
    entry = InboxEntry.objects.create(
        consumer="ledger",
        event_id=row.event_id,
        event_type=row.event_type,
        subject=row.subject,
        sequence=row.sequence,
        partition_key=row.partition_key,
        status=status,
        envelope=row.envelope,
        applied_at=moment if status == DeliveryStatus.APPLIED else None,
    )
    InboxEntry.objects.filter(id=entry.id).update(received_at=moment)
    Delivery.objects.create(consumer="ledger", event_id=row.event_id, status=status)
    Delivery.objects.filter(event_id=row.event_id).update(at=moment)
    return entry


def test_prune_inbox_deletes_old_applied_rows_and_never_a_held_one(
    settings, acme, alice
):
    # given
    settings.INBOX_RETENTION_DAYS = 30
    parties = {"organisation": acme, "submitted_by": alice}
    old_applied = inbox_row(DeliveryStatus.APPLIED, days=40, **parties)
    recent_applied = inbox_row(DeliveryStatus.APPLIED, days=3, **parties)
    held = {inbox_row(status, days=400, **parties).id for status in HELD}
    # when
    out = run("prune_inbox")
    # then
    assert "Pruned 1 applied inbox rows older than 30 days" in out
    assert set(InboxEntry.objects.values_list("id", flat=True)) == held | {
        recent_applied.id
    }
    assert not InboxEntry.objects.filter(id=old_applied.id).exists()


def test_a_pruned_inbox_row_still_skips_a_late_duplicate(acme, alice):
    # given: ledger applied an event long ago, and its inbox row was pruned
    row = outbox_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    assert consume(consumer="ledger", envelope=row.envelope, handlers={}) == (
        DeliveryStatus.APPLIED
    )
    InboxEntry.objects.update(applied_at=timezone.now() - timedelta(days=400))
    run("prune_inbox")
    assert not InboxEntry.objects.exists()
    # when: a replay delivers it again
    outcome = consume(consumer="ledger", envelope=row.envelope, handlers={})
    # then: the position still knows it was applied
    assert outcome == DeliveryStatus.SKIPPED_DUPLICATE
    assert not InboxEntry.objects.exists()


def test_prune_deliveries_keeps_the_story_of_every_held_event(settings, acme, alice):
    # given: old records of an applied event and of held ones, and recent records
    settings.DELIVERY_RETENTION_DAYS = 30
    parties = {"organisation": acme, "submitted_by": alice}
    applied = inbox_row(DeliveryStatus.APPLIED, days=40, **parties)
    held = [inbox_row(status, days=40, **parties) for status in HELD]
    recent = inbox_row(DeliveryStatus.APPLIED, days=2, **parties)
    unseen = outbox_event(**parties)
    Delivery.objects.create(
        consumer="ledger", event_id=unseen.event_id, status=DeliveryStatus.FAILED
    )
    Delivery.objects.filter(event_id=unseen.event_id).update(
        at=timezone.now() - timedelta(days=40)
    )
    # when
    out = run("prune_deliveries")
    # then: the applied event's and the never-held event's old records went
    assert "Pruned 2 delivery records older than 30 days" in out
    assert {str(d) for d in Delivery.objects.values_list("event_id", flat=True)} == {
        str(entry.event_id) for entry in [*held, recent]
    }
    assert not Delivery.objects.filter(event_id=applied.event_id).exists()


@pytest.mark.parametrize("command", ["prune_inbox", "prune_deliveries"])
def test_a_prune_refuses_a_negative_period(command, acme, alice):
    inbox_row(DeliveryStatus.APPLIED, days=400, organisation=acme, submitted_by=alice)
    with pytest.raises(CommandError, match="0 or more"):
        run(command, "--older-than-days", "-1")
    assert InboxEntry.objects.count() == Delivery.objects.count() == 1


# --- run_housekeeping ------------------------------------------------------------


def idempotency_key(user, name: str, *, state: str, hours: int, lease_seconds: int):
    now = timezone.now()
    IdempotencyKey.objects.create(
        user=user,
        key=name,
        fingerprint="0" * 64,
        state=state,
        locked_until=now + timedelta(seconds=lease_seconds),
    )
    IdempotencyKey.objects.filter(key=name).update(
        created_at=now - timedelta(hours=hours)
    )


def test_housekeeping_runs_every_prune_and_keeps_what_is_unfinished(acme, alice):
    # given: of each kind one row past retention that may go, one that must stay
    parties = {"organisation": acme, "submitted_by": alice}
    aged(outbox_event(**parties), days=30, published=True)
    unpublished = aged(outbox_event(**parties), days=30, published=False)
    inbox_row(DeliveryStatus.APPLIED, days=400, **parties)
    parked = inbox_row(DeliveryStatus.PARKED, days=400, **parties)
    completed, running = (
        IdempotencyKey.State.COMPLETED,
        IdempotencyKey.State.IN_PROGRESS,
    )
    idempotency_key(alice, "done", state=completed, hours=48, lease_seconds=-60)
    idempotency_key(alice, "running", state=running, hours=48, lease_seconds=60)
    # when
    out = run("run_housekeeping", "--once")
    # then
    assert out.strip() == (
        "pruned 1 outbox rows, 1 inbox rows, 1 delivery records, 1 idempotency keys"
    )
    assert OutboxMessage.objects.filter(published_at__isnull=False).count() == 0
    assert OutboxMessage.objects.filter(id=unpublished.id).exists()
    assert list(InboxEntry.objects.values_list("id", flat=True)) == [parked.id]
    assert [str(d) for d in Delivery.objects.values_list("event_id", flat=True)] == [
        str(parked.event_id)
    ]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["running"]


def test_housekeeping_loops_until_sigterm_then_exits_cleanly(monkeypatch):
    # given: SIGTERM sent once the command has installed its handler
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    rounds = []
    monkeypatch.setattr(
        "events.management.commands.run_housekeeping.housekeeping_round",
        lambda stop=None: rounds.append(1) or {"outbox rows": 0},
    )

    def terminate_when_listening():
        deadline = time.monotonic() + 10
        while signal.getsignal(signal.SIGTERM) is previous[0]:
            if time.monotonic() > deadline:
                return  # never installed: the test fails below, the worker lives
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_when_listening, daemon=True).start()
    # when
    try:
        out = run("run_housekeeping", "--every-minutes", "60")
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    # then: one round, then a wait of an hour cut short by SIGTERM
    assert rounds == [1]
    assert out.splitlines() == [
        "housekeeping started: a round every 60 min",
        "pruned 0 outbox rows",
        "housekeeping stopped",
    ]


def test_the_process_list_runs_housekeeping():
    # given
    services = {service.name: service for service in compose_services({})}
    # then: a long-running service, whose command exists here
    housekeeping = services["housekeeping"]
    assert housekeeping.command == ["python", "manage.py", "run_housekeeping"]
    assert not housekeeping.one_shot
    assert get_commands()["run_housekeeping"] == "events"
