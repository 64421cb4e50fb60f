"""PaymentApproved v1 is upcast to v2 on read: a year-old event replays fine."""

import pytest

from contracts.registry import validate
from contracts.upcasters import upcast_once, upcast_path
from events.consumers import consumer_get
from events.inbox import consume
from events.models import InboxEntry
from ledger.models import JournalLine
from reconciliation.models import Expectation
from tests.events_builders import payment_event


def test_a_v1_approval_upcasts_to_a_valid_v2_with_its_time_as_approved_at(
    db, acme, alice, bob
):
    v1 = payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob
    ).envelope

    v2 = upcast_once(v1)

    assert validate(v2) == ("PaymentApproved", 2)
    assert v2["data"]["amount"] == {"value": 12550, "currency": "EUR"}
    assert v2["data"]["creditor"] == {"name": "Initech Supplies", "iban": None}
    assert v2["data"]["approved_at"] == v1["time"]
    assert v1["dataschema"] == "/contracts/PaymentApproved/v1"  # the fact is kept


def test_a_path_leads_only_through_upcasters_that_exist():
    assert upcast_path("PaymentApproved", 1, {2}) == [1, 2]
    assert upcast_path("PaymentApproved", 2, {2}) == [2]
    assert upcast_path("PaymentApproved", 3, {2}) is None
    assert upcast_path("PaymentSubmitted", 1, {2}) is None


@pytest.mark.parametrize("consumer", ["ledger", "reconciliation"])
def test_a_v1_event_replayed_after_the_switch_is_applied_once(
    db, acme, alice, bob, consumer
):
    # given: consumers that read v2 only, and an approval published as v1
    declared = consumer_get(consumer)
    v1 = payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob, sequence=1
    ).envelope

    # when: delivered, then delivered again (a replay)
    outcomes = [
        consume(
            consumer=consumer,
            envelope=v1,
            handlers=declared.handlers,
            consumes=declared.consumed_types,
        )
        for _ in range(2)
    ]

    # then: applied once, the inbox keeps the v1 envelope as published
    assert outcomes == ["applied", "skipped_duplicate"]
    entry = InboxEntry.objects.get(consumer=consumer, event_id=v1["id"])
    assert entry.envelope["dataschema"] == "/contracts/PaymentApproved/v1"
    if consumer == "ledger":
        assert sorted(JournalLine.objects.values_list("amount", flat=True)) == [
            12550,
            12550,
        ]
    else:
        assert Expectation.objects.get().amount == 12550
