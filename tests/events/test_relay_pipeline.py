"""The relay's pipeline: with a backlog, batch N+1 is claimed while N's confirms
are on their way, and sent only after N is settled (events/relay.py)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import OutboxMessage
from events.publishers import BrokerUnavailable, KombuPublisher
from events.relay import RelayPipeline
from events.topology import partition_of
from tests.events.conftest import outbox_event

pytestmark = pytest.mark.django_db


class Watching(KombuPublisher):
    """The real filesystem publisher; records each batch and the outbox at its send."""

    def __init__(self, refuse=()):
        super().__init__("filesystem://")
        self.refuse = set(refuse)  # event ids the broker refuses, once each
        self.batches: list[list[str]] = []
        self.claimed_at_send: list[dict[int, str | None]] = []

    def publish_batch(self, messages):
        self.batches.append([m.properties["message_id"] for m in messages])
        self.claimed_at_send.append(
            dict(OutboxMessage.objects.values_list("id", "claim_token"))
        )
        results = super().publish_batch(messages)
        refused = [m.properties["message_id"] in self.refuse for m in messages]
        self.refuse -= {m.properties["message_id"] for m in messages}
        return [
            "nacked by the broker" if r else ok
            for r, ok in zip(refused, results, strict=True)
        ]


class AwayAtConfirms(Watching):
    """Sends, then loses the broker before the second batch's confirms."""

    def settle(self, sent):
        if len(self.batches) == 2:
            raise BrokerUnavailable("connection reset while awaiting confirms")
        return super().settle(sent)


def events(count: int, **overrides) -> list[OutboxMessage]:
    return [outbox_event(**overrides) for _ in range(count)]


def ids(rows) -> list[str]:
    return [str(row.event_id) for row in rows]


def test_with_a_backlog_the_next_batch_is_claimed_while_one_is_in_flight(
    broker, acme, alice
):
    # given: seven events, batches of three
    rows = events(7, organisation=acme, submitted_by=alice)
    publisher = Watching()
    pipeline = RelayPipeline(publisher=publisher, batch_size=3)

    # when: the first step sends a full batch
    first = pipeline.step()

    # then: the first three are in flight (claimed, unmarked); the next three
    # are already claimed under another token; the last is untouched
    state = {row.id: row for row in OutboxMessage.objects.order_by("id")}
    assert (first.claimed, first.published) == (3, 0)
    in_flight = {state[row.id].claim_token for row in rows[:3]}
    ahead = {state[row.id].claim_token for row in rows[3:6]}
    assert len(in_flight) == len(ahead) == 1
    assert in_flight != ahead and None not in in_flight | ahead
    assert all(state[row.id].published_at is None for row in rows)
    assert state[rows[6].id].claim_token is None

    # when: the relay goes on until the backlog is gone
    second, third = pipeline.step(), pipeline.step()

    # then: every event went out once, in order, three batches; all marked
    assert (second.claimed, second.published) == (3, 3)
    assert (third.claimed, third.published) == (1, 4)
    assert publisher.batches == [ids(rows[:3]), ids(rows[3:6]), ids(rows[6:])]
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert not OutboxMessage.objects.filter(claim_token__isnull=False).exists()
    assert pipeline.flight is None and pipeline.next is None
    # the second batch was sent while its rows still held their own claim
    at_second_send = publisher.claimed_at_send[1]
    assert len({at_second_send[row.id] for row in rows[3:6]} - {None}) == 1


def test_a_refusal_in_one_batch_holds_the_next_batchs_rows_of_its_partition(
    broker, acme, alice, settings
):
    # given: two accounts in different partitions, alternating, batches of two
    settings.EVENT_PARTITIONS = 4
    a, b = _accounts_in_two_partitions()
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=acct)
        for acct in (a, b, a, b)
    ]
    # the broker refuses the first event of account a
    publisher = Watching(refuse={str(rows[0].event_id)})
    pipeline = RelayPipeline(publisher=publisher, batch_size=2)

    # when: batch one goes out (and batch two is claimed meanwhile), then two
    pipeline.step()
    pipeline.step()
    pipeline.finish()

    # then: a's second event never went out before its first; b's did
    assert publisher.batches[1] == ids(rows[3:4])
    held = OutboxMessage.objects.get(id=rows[2].id)
    assert held.held_behind == rows[0].id and held.published_at is None
    refused = OutboxMessage.objects.get(id=rows[0].id)
    assert refused.refusals == 1 and refused.published_at is None
    assert OutboxMessage.objects.get(id=rows[3].id).published_at is not None


def test_finish_settles_the_flight_and_gives_back_the_batch_claimed_ahead(
    broker, acme, alice
):
    # given: a full batch in flight and the next one claimed
    rows = events(5, organisation=acme, submitted_by=alice)
    pipeline = RelayPipeline(publisher=Watching(), batch_size=2)
    pipeline.step()

    # when: the relay stops
    marked = pipeline.finish()

    # then: the flight is marked; the batch claimed ahead is unclaimed again
    state = {row.id: row for row in OutboxMessage.objects.all()}
    assert marked == 2
    assert all(state[row.id].published_at is not None for row in rows[:2])
    assert all(state[row.id].published_at is None for row in rows[2:])
    assert all(state[row.id].claim_token is None for row in rows)
    assert {state[row.id].last_error for row in rows[2:4]} == {
        "claimed ahead; the relay stopped before sending it"
    }


def test_a_broker_lost_at_the_confirms_releases_both_batches_and_loses_nothing(
    broker, acme, alice
):
    # given: six events, batches of two; the broker goes away while the
    # second batch's confirms are awaited
    rows = events(6, organisation=acme, submitted_by=alice)
    publisher = AwayAtConfirms()
    pipeline = RelayPipeline(publisher=publisher, batch_size=2)
    pipeline.step()
    pipeline.step()

    # when
    with pytest.raises(BrokerUnavailable):
        pipeline.step()

    # then: nothing is in flight; batch one stays published; batch two (sent,
    # unconfirmed) and three (claimed ahead) are unclaimed, to go again
    state = {row.id: row for row in OutboxMessage.objects.all()}
    assert pipeline.flight is None and pipeline.next is None
    assert [state[row.id].published_at is not None for row in rows] == [
        True, True, False, False, False, False
    ]  # fmt: skip
    assert all(state[row.id].claim_token is None for row in rows)
    # and: the relay drains the rest in order once the broker is back
    while pipeline.step().claimed:
        pass
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert publisher.batches[-2:] == [ids(rows[2:4]), ids(rows[4:6])]


def _accounts_in_two_partitions():
    first = uuid.uuid4()
    while True:
        second = uuid.uuid4()
        if partition_of(str(second)) != partition_of(str(first)):
            return first, second


def test_a_batch_that_was_not_full_is_marked_by_the_next_claims_transaction(
    broker, acme, alice
):
    # given: one event of an account, published by a pipeline whose marks wait
    publisher = Watching()
    pipeline = RelayPipeline(publisher=publisher, batch_size=3, marks_wait=True)
    [first] = events(1, organisation=acme, submitted_by=alice)
    assert (pipeline.step().claimed, first.published_at) == (1, None)

    # then: confirmed and sent, not yet marked: still this relay's claim
    first.refresh_from_db()
    assert (first.published_at, first.claim_token is not None) == (None, True)
    assert pipeline.unmarked is not None

    # when: the account's next event comes, and the next step claims it
    [second] = events(1, organisation=acme, submitted_by=alice)
    with CaptureQueriesContext(connection) as queries:
        step = pipeline.step()

    # then: the first is marked and the second claimed in one transaction
    # (the first no longer holds back its partition), and sent
    assert (step.claimed, step.published) == (1, 1)
    first.refresh_from_db()
    assert first.published_at is not None and first.claim_token is None
    assert publisher.batches == [ids([first]), ids([second])]
    # (in a test a transaction is a savepoint of the test's own): the mark,
    # the blockers' read and the claim, in that order, and nothing else
    sqls = [q["sql"] for q in queries.captured_queries]
    end = next(i for i, sql in enumerate(sqls) if sql.startswith("RELEASE SAVEPOINT"))
    assert sqls[0].startswith("SAVEPOINT")
    assert [sql.split(" ", 1)[0] for sql in sqls[1:end]] == [
        "UPDATE",  # the first marked published
        "SELECT",  # the rows holding partitions back
        "UPDATE",  # the second claimed
    ]
    assert "published_at" in sqls[1] and "claim_token = '" in sqls[end - 1]
    assert not [sql for sql in sqls[end + 1 :] if sql.startswith(("UPDATE", "SAVE"))]

    # when: the relay stops
    assert pipeline.finish() == 1

    # then: nothing waits to be marked
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert pipeline.unmarked is None


def test_without_waiting_marks_a_batch_is_marked_at_once(broker, acme, alice):
    [row] = events(1, organisation=acme, submitted_by=alice)

    step = RelayPipeline(publisher=Watching(), batch_size=3).step()

    row.refresh_from_db()
    assert (step.claimed, step.published) == (1, 1)
    assert row.published_at is not None
