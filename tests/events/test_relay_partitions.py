"""A failed publish holds back only its own partition; the others go on."""

import uuid

import pytest

from events.models import OutboxMessage
from events.publishers import KombuPublisher
from events.relay import relay_once
from events.topology import partition_of
from tests.events.conftest import outbox_event

pytestmark = pytest.mark.django_db(transaction=True)


def _accounts_in_two_partitions() -> tuple[uuid.UUID, uuid.UUID]:
    first = uuid.uuid4()
    while True:
        second = uuid.uuid4()
        if partition_of(str(second)) != partition_of(str(first)):
            return first, second


class RefusesOneAccount(KombuPublisher):
    """The real filesystem publisher, but every event of one account is refused."""

    def __init__(self, account: uuid.UUID):
        super().__init__("filesystem://")
        self.account = str(account)

    def publish_batch(self, messages):
        refused = {
            row.id for row in OutboxMessage.objects.filter(partition_key=self.account)
        }
        results = super().publish_batch(messages)
        return [
            "nacked by the broker" if out.row_id in refused else result
            for out, result in zip(messages, results, strict=True)
        ]


def test_a_refused_event_holds_back_its_partition_but_not_the_others(
    broker, acme, alice
):
    # given: events of two debtor accounts in different partitions, interleaved
    stuck, flowing = _accounts_in_two_partitions()
    rows = [
        outbox_event(organisation=acme, submitted_by=alice, debtor_account_id=account)
        for account in (stuck, flowing, stuck, flowing)
    ]

    # when: the broker refuses the first account's events
    published = relay_once(publisher=RefusesOneAccount(stuck))

    # then: the other partition's events are published, the refused ones wait
    assert published == 2
    state = {
        row.id: row for row in OutboxMessage.objects.filter(id__in=[r.id for r in rows])
    }
    assert [state[r.id].published_at is not None for r in rows] == [
        False,
        True,
        False,
        True,
    ]
    assert state[rows[0].id].last_error == "nacked by the broker"
    assert state[rows[2].id].claim_token is None
