"""The payload rule: an event carries what its common consumers need.

Every declared consumer applies a PaymentApproved v2 (the version payments
publishes after the rollout) with effects in its own tables, and reads nothing
of payments while it does: any SQL statement naming a payments table fails
the test. No consumer calls the producer back for what the event left out (the
import-linter contract forbids the import; this proves the data is there).
See docs/lessons/versioned-schemas.md#the-contract.
"""

import pytest
from django.apps import apps
from django.db import connection

from events.consumers import registry
from events.inbox import consume
from tests.events_builders import payment_event

pytestmark = pytest.mark.django_db

PAYMENTS_TABLES = tuple(
    model._meta.db_table for model in apps.get_app_config("payments").get_models()
)


class PaymentsRead(AssertionError):
    pass


def refuse_payments_tables(execute, sql, params, many, context):
    named = [table for table in PAYMENTS_TABLES if table in sql]
    if named:
        raise PaymentsRead(f"a consumer read {named}: {sql[:200]}")
    return execute(sql, params, many, context)


def rows_of(app_label: str) -> int:
    return sum(
        model.objects.count() for model in apps.get_app_config(app_label).get_models()
    )


@pytest.mark.parametrize("consumer", registry(), ids=lambda c: c.name)
def test_a_consumer_applies_payment_approved_v2_without_reading_payments(
    consumer, acme, alice, bob
):
    # given: the payment's two events, as published after the rollout
    payment_id = "3f1c2a9e-8d4b-4c55-9a57-1b2f3c4d5e6f"
    events = [
        payment_event(
            "PaymentSubmitted",
            organisation=acme,
            submitted_by=alice,
            payment_id=payment_id,
            sequence=1,
        ),
        payment_event(
            "PaymentApproved",
            organisation=acme,
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
            sequence=2,
            version=2,
        ),
    ]
    counts = [rows_of(consumer.app)]
    statuses = []

    # when
    with connection.execute_wrapper(refuse_payments_tables):
        for event in events:
            statuses.append(
                consume(
                    consumer=consumer.name,
                    envelope=event.envelope,
                    handlers=consumer.handlers,
                    consumes=consumer.consumed_types,
                )
            )
            counts.append(rows_of(consumer.app))

    # then: the approval is applied, with an effect in the consumer's own tables
    assert statuses == ["applied", "applied"]
    assert counts[2] > counts[1]


def test_the_guard_catches_a_read_of_payments(acme):
    from payments.models import Payment

    with (
        connection.execute_wrapper(refuse_payments_tables),
        pytest.raises(PaymentsRead),
    ):
        Payment.objects.filter(organisation=acme).exists()
