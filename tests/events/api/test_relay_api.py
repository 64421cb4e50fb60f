"""The relay's state over HTTP and the rows it could not publish.

Its demo-only pause switch is the lab's: tests/lab/api/test_relay_switch.py.
"""

from django.utils import timezone

from events.models import OutboxMessage
from events.publishers import KombuPublisher
from events.relay import relay_once
from tests.assertions import assert_problem
from tests.events.conftest import outbox_event
from tests.events.test_relay_failures import accounts_in_two_partitions
from tests.factories import UserFactory


class RefusingAll(KombuPublisher):
    """The filesystem publisher; the broker refuses one account's events."""

    def __init__(self, account):
        super().__init__("filesystem://")
        self.key = str(account)

    def publish_batch(self, messages):
        keys = dict(OutboxMessage.objects.values_list("id", "partition_key"))
        results = super().publish_batch(messages)
        return [
            "nacked by the broker" if keys[out.row_id] == self.key else result
            for out, result in zip(messages, results, strict=True)
        ]


def test_relay_state_shows_the_outbox_backlog_and_the_switch(client_for, acme, bob):
    # given: two events waiting for the relay
    outbox_event(organisation=acme, submitted_by=bob)
    outbox_event(organisation=acme, submitted_by=bob)

    # when
    body = client_for(bob).get("/api/v1/relay").json()

    # then
    assert body["pending"] == 2
    assert body["paused"] is False
    assert body["running"] is False  # no relay has beaten its heart yet
    assert body["oldest_pending_at"] is not None


def test_relay_state_needs_an_organisation(client_for, outsider):
    assert_problem(client_for(outsider).get("/api/v1/relay"), 403, "no-organisation")


def test_relay_state_shows_the_rows_it_could_not_publish(
    broker, client_for, settings, acme, globex, alice, bob, gina
):
    # given: a failed event (corrupt), one held behind it, and one the broker
    # refused that waits for its backoff, all of acme; and one of globex
    settings.RELAY_MAX_ATTEMPTS = 5
    stuck, refused_account = accounts_in_two_partitions()
    failed = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=stuck
    )
    corrupt = {k: v for k, v in failed.envelope.items() if k != "type"}
    OutboxMessage.objects.filter(id=failed.id).update(envelope=corrupt)
    outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=stuck)
    refused = outbox_event(
        organisation=acme, submitted_by=alice, debtor_account_id=refused_account
    )
    relay_once(publisher=RefusingAll(refused_account))
    theirs = outbox_event(organisation=globex, submitted_by=gina)
    OutboxMessage.objects.filter(id=theirs.id).update(failed_at=timezone.now())

    # when
    failures = client_for(bob).get("/api/v1/relay").json()["failures"]

    # then: counts, the oldest failure, and each row with what went wrong
    assert (failures["failed"], failures["backing_off"], failures["held"]) == (1, 1, 1)
    assert failures["oldest_failed_at"] is not None
    by_event = {row["event_id"]: row for row in failures["rows"]}
    assert set(by_event) == {str(failed.event_id), str(refused.event_id)}
    row = by_event[str(failed.event_id)]
    assert row["state"] == "failed" and row["type"] == "PaymentApproved"
    assert 'no string "type"' in row["last_error"]
    assert row["holding"] == 1 and row["next_attempt_at"] is None
    row = by_event[str(refused.event_id)]
    assert row["state"] == "backing_off"
    assert (row["refusals"], row["attempts"]) == (1, 1)
    assert row["last_error"] == "nacked by the broker"
    assert row["next_attempt_at"] is not None
    # and another organisation sees only its own
    theirs_seen = client_for(gina).get("/api/v1/relay").json()["failures"]
    assert theirs_seen["failed"] == 1
    assert [row["event_id"] for row in theirs_seen["rows"]] == [str(theirs.event_id)]


def test_staff_see_every_organisations_failed_rows(
    client_for, acme, globex, alice, gina
):
    # given
    for organisation, user in ((acme, alice), (globex, gina)):
        row = outbox_event(organisation=organisation, submitted_by=user)
        OutboxMessage.objects.filter(id=row.id).update(failed_at=timezone.now())
    staff = UserFactory(username="sam", is_staff=True)

    # when
    failures = client_for(staff).get("/api/v1/relay").json()["failures"]

    # then
    assert failures["failed"] == 2
    assert len(failures["rows"]) == 2
