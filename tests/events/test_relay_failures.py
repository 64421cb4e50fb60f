"""Rows the relay cannot publish: they fail or back off, their partition waits,
the relay and the other partitions go on, and an operator has a way out.

On a private filesystem broker; what the relay sends is recorded, and what
reached the consumers' queues is read back. A refused row's wait is moved into
the past (backoff_elapsed) instead of sleeping through it.
"""

import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from events.models import OutboxMessage
from events.outbox_failures import row_backoff
from events.publishers import BrokerUnavailable, KombuPublisher, SettledOnSend
from events.relay import relay_once
from events.topology import partition_of
from tests.events.conftest import outbox_event, queue_of

pytestmark = pytest.mark.django_db


def accounts_in_two_partitions() -> tuple[uuid.UUID, uuid.UUID]:
    first = uuid.uuid4()
    while True:
        second = uuid.uuid4()
        if partition_of(str(second)) != partition_of(str(first)):
            return first, second


def backoff_elapsed() -> None:
    """Move every refused row's wait into the past, as if the time had passed."""
    OutboxMessage.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def corrupt(row: OutboxMessage, envelope) -> None:
    OutboxMessage.objects.filter(id=row.id).update(envelope=envelope)


def fresh(row: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(id=row.id)


class Recording(KombuPublisher):
    """The real filesystem publisher; it refuses one account's events, if told."""

    def __init__(self, *refuse_accounts: uuid.UUID, refusals: int = 0):
        super().__init__("filesystem://")
        self.refused_keys = {str(account) for account in refuse_accounts}
        self.refusals_left = refusals if refusals else None
        self.batches: list[list[int]] = []

    def publish_batch(self, messages):
        self.batches.append([out.row_id for out in messages])
        keys = dict(
            OutboxMessage.objects.filter(
                id__in=[out.row_id for out in messages]
            ).values_list("id", "partition_key")
        )
        results = super().publish_batch(messages)
        for index, out in enumerate(messages):
            if keys[out.row_id] in self.refused_keys and self.refusals_left != 0:
                results[index] = "nacked by the broker"
                if self.refusals_left is not None:
                    self.refusals_left -= 1
        return results

    def sent(self, row: OutboxMessage) -> int:
        return sum(batch.count(row.id) for batch in self.batches)


class BrokerAway(SettledOnSend):
    def publish_batch(self, messages):
        raise BrokerUnavailable("[Errno 111] Connection refused")


CORRUPTIONS = {
    "no id": lambda envelope: {k: v for k, v in envelope.items() if k != "id"},
    "no type": lambda envelope: {k: v for k, v in envelope.items() if k != "type"},
    "no subject": lambda envelope: {
        k: v for k, v in envelope.items() if k != "subject"
    },
    "an id that is not a string": lambda envelope: {**envelope, "id": 42},
    "a list": lambda envelope: [envelope],
    "a string": lambda envelope: "not an envelope",
}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_a_corrupt_envelope_fails_its_row_holds_its_partition_and_the_rest_goes_on(
    broker, acme, alice, corruption
):
    # given: a corrupt event, a later event of its partition, and another partition
    stuck, flowing = accounts_in_two_partitions()
    bad = outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=stuck)
    corrupt(bad, CORRUPTIONS[corruption](bad.envelope))
    behind = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=stuck
    )
    other = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=flowing
    )

    # when: the relay runs (it used to raise here, and its process died)
    published = relay_once(publisher=Recording())

    # then: the corrupt row failed, visibly, with its error
    assert published == 1
    bad = fresh(bad)
    assert bad.failed_at is not None and bad.published_at is None
    assert bad.last_error.startswith("cannot be sent as a message: ")
    assert bad.claim_token is None
    # and the later event of its partition waits behind it, unsent
    behind = fresh(behind)
    assert behind.published_at is None and behind.held_behind == bad.id
    assert str(bad.event_id) in behind.last_error
    assert broker.drain(queue_of("ledger", behind)) == []
    # and the other partition went on
    assert fresh(other).published_at is not None
    ledger = [m.envelope["id"] for m in broker.drain(queue_of("ledger", other))]
    assert ledger == [str(other.event_id)]
    # and later cycles leave the failed partition alone
    assert relay_once(publisher=Recording()) == 0
    assert fresh(behind).published_at is None


def test_held_rows_stay_out_of_the_claim_so_other_partitions_keep_flowing(
    broker, acme, alice
):
    # given: more events stuck behind a refused row than one batch holds, and
    # events of another partition after them
    stuck, flowing = accounts_in_two_partitions()
    stuck_rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=stuck)
        for _ in range(5)
    ]
    flowing_rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=flowing)
        for _ in range(3)
    ]
    relay = Recording(stuck)

    # when: the relay runs cycles of two rows
    for _ in range(8):
        relay_once(publisher=relay, batch_size=2)

    # then: the other partition was published, in order, behind the stuck pile
    assert all(fresh(row).published_at for row in flowing_rows)
    ledger = [
        m.envelope["id"] for m in broker.drain(queue_of("ledger", flowing_rows[0]))
    ]
    assert ledger == [str(row.event_id) for row in flowing_rows]
    # and each stuck row was claimed once and then set aside, not claimed again
    assert relay.sent(stuck_rows[0]) == 1
    for row in stuck_rows[1:]:
        assert fresh(row).held_behind == stuck_rows[0].id
        assert fresh(row).attempts == 1


def test_a_refused_row_backs_off_exponentially_then_fails_after_its_last_attempt(
    broker, settings, acme, alice
):
    # given: a broker that refuses every event of one account
    settings.RELAY_MAX_ATTEMPTS = 3
    account = uuid.uuid4()
    row = outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
    relay = Recording(account)

    # when: refused once
    relay_once(publisher=relay)

    # then: it waits a second before it is sent again
    row = fresh(row)
    assert (row.refusals, row.failed_at) == (1, None)
    assert timedelta(0) < row.next_attempt_at - timezone.now() <= timedelta(seconds=1)
    relay_once(publisher=relay)
    assert relay.sent(row) == 1  # not sent again before its time

    # when: refused a second time, after its wait
    backoff_elapsed()
    relay_once(publisher=relay)

    # then: the wait doubles
    row = fresh(row)
    assert row.refusals == 2
    wait = row.next_attempt_at - timezone.now()
    assert timedelta(seconds=1) < wait <= timedelta(seconds=2)

    # when: refused the last time
    backoff_elapsed()
    relay_once(publisher=relay)

    # then: it failed, waits for an operator, and is never sent again
    row = fresh(row)
    assert row.refusals == 3
    assert row.failed_at is not None and row.next_attempt_at is None
    assert row.last_error == "nacked by the broker"
    backoff_elapsed()
    relay_once(publisher=relay)
    assert relay.sent(row) == 3
    assert row.published_at is None


def test_the_row_backoff_doubles_up_to_its_cap(settings):
    settings.RELAY_ROW_BACKOFF_MAX_SECONDS = 60
    assert [row_backoff(n).total_seconds() for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]
    assert row_backoff(500).total_seconds() == 60


def test_a_broker_that_is_away_uses_up_no_attempts(broker, settings, acme, alice):
    # given
    settings.RELAY_MAX_ATTEMPTS = 2
    row = outbox_event(organisation=acme, submitted_by=alice)

    # when: the broker is away for many cycles
    for _ in range(5):
        with pytest.raises(BrokerUnavailable):
            relay_once(publisher=BrokerAway())

    # then: the row is neither failed nor waiting, and goes out when it is back
    row = fresh(row)
    assert (row.refusals, row.next_attempt_at, row.failed_at) == (0, None, None)
    assert relay_once(publisher=Recording()) == 1


def test_rows_held_behind_a_refused_row_go_after_it_once_it_is_published(
    broker, acme, alice
):
    # given: three events of one account; the broker refuses the first once
    account = uuid.uuid4()
    first, second, third = (
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for _ in range(3)
    )
    relay = Recording(account, refusals=1)
    relay_once(publisher=relay)
    assert fresh(second).held_behind == first.id
    assert fresh(third).held_behind == first.id

    # when: its wait is over
    backoff_elapsed()
    cycles = [relay_once(publisher=relay) for _ in range(3)]

    # then: it went alone, and only then the two behind it, in order
    assert cycles == [1, 2, 0]
    assert relay.batches[1:] == [[first.id], [second.id, third.id]]
    marked = [fresh(row).published_at for row in (first, second, third)]
    assert marked[0] < marked[1] <= marked[2]


def test_retry_sends_a_fixed_row_again_and_then_the_rows_held_behind_it(
    broker, acme, alice
):
    # given: a failed corrupt row and a row held behind it
    account = uuid.uuid4()
    bad = outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
    good_envelope = bad.envelope
    corrupt(bad, {"broken": True})
    behind = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=account
    )
    relay_once(publisher=Recording())
    assert fresh(behind).held_behind == bad.id

    # when: retried while still corrupt
    with pytest.raises(CommandError, match="still cannot be sent"):
        call_command("outbox_failed", "retry", str(bad.id))

    # then: nothing changed
    assert fresh(bad).failed_at is not None
    assert fresh(behind).held_behind == bad.id

    # when: an operator fixes the envelope and retries it
    corrupt(bad, good_envelope)
    call_command("outbox_failed", "retry", str(bad.id))
    relay_once(publisher=Recording())

    # then: the row goes out, then the row behind it, in order
    assert fresh(bad).published_at is not None
    assert fresh(behind).published_at is not None
    ledger = [m.envelope["id"] for m in broker.drain(queue_of("ledger", bad))]
    assert ledger == [str(bad.event_id), str(behind.event_id)]


def test_skip_leaves_a_failed_row_unpublished_for_good_and_frees_its_partition(
    broker, acme, alice, capsys
):
    # given
    account = uuid.uuid4()
    bad = outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
    corrupt(bad, ["not", "an", "envelope"])
    behind = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=account
    )
    relay_once(publisher=Recording())
    call_command("outbox_failed", "list")
    assert f"row {bad.id}" in capsys.readouterr().out

    # when
    call_command("outbox_failed", "skip", str(bad.id), "--reason", "test data")
    relay_once(publisher=Recording())
    relay_once(publisher=Recording())

    # then
    bad, behind = fresh(bad), fresh(behind)
    assert bad.skipped_at is not None and bad.published_at is None
    assert bad.last_error.startswith("skipped: test data")
    assert behind.published_at is not None
    ledger = [m.envelope["id"] for m in broker.drain(queue_of("ledger", behind))]
    assert ledger == [str(behind.event_id)]
    # and a skipped row cannot be retried or skipped again
    with pytest.raises(CommandError, match="not a failed"):
        call_command("outbox_failed", "retry", str(bad.id))


def test_retry_all_gives_every_failed_row_new_attempts(broker, settings, acme, alice):
    # given: two rows that failed after the broker refused them
    settings.RELAY_MAX_ATTEMPTS = 1
    stuck, other = accounts_in_two_partitions()
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for account in (stuck, other)
    ]
    relay_once(publisher=Recording(stuck, other))
    assert all(fresh(row).failed_at for row in rows)

    # when: the cause is fixed (say, a queue bound again), and all are retried
    call_command("outbox_failed", "retry", "--all")

    # then
    assert all(fresh(row).refusals == 0 for row in rows)
    assert relay_once(publisher=Recording()) == 2


def test_retry_needs_rows_or_all(broker):
    with pytest.raises(CommandError, match="or --all"):
        call_command("outbox_failed", "retry")


class DiskFullAfterOne(KombuPublisher):
    """The filesystem transport, failing to write the second message."""

    def connect(self):
        super().connect()
        publish, written = self.producer.publish, []

        def publish_once(*args, **kwargs):
            if written:
                raise OSError(28, "No space left on device")
            written.append(publish(*args, **kwargs))

        self.producer.publish = publish_once


def test_a_transport_failure_mid_batch_uses_up_no_attempts(
    broker, settings, acme, alice
):
    # given
    settings.RELAY_MAX_ATTEMPTS = 1
    rows = [outbox_event(organisation=acme, submitted_by=alice) for _ in range(2)]

    # when: the transport fails after the first message
    with pytest.raises(BrokerUnavailable, match="No space left"):
        relay_once(publisher=DiskFullAfterOne("filesystem://"))

    # then: neither row counts it as a refusal; both go out once it works
    for row in rows:
        row = fresh(row)
        assert (row.refusals, row.failed_at, row.published_at) == (0, None, None)
    assert relay_once(publisher=Recording()) == 2
