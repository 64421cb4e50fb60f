"""Each consumer's queues are bound to the streams it reads, and only those.

docs/adr/0019-bindings-per-stream.md: a consumer receives every type of each
stream it reads (so its per-subject sequence has no gap) and no type of any
other stream (so it spends nothing on events it would only skip).
"""

import pytest
from django.db import transaction

from contracts.registry import ContractViolation
from contracts.streams import STREAMS, stream_of, types_received
from events.consumers import registry
from events.models import OutboxMessage
from events.outbox import publish
from events.relay import relay_once
from events.replay import events_replay
from events.topology import partition_of, received_types, receivers
from payments.services import payment_approve
from tests.events.conftest import event_to_outbox, outbox_event, queue_of
from tests.events.test_relay import all_queues, publisher
from tests.events_builders import payment_fact
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db


def test_every_published_type_belongs_to_exactly_one_stream():
    # given
    declared = [t for stream in STREAMS for t in stream.types]
    # then
    assert len(declared) == len(set(declared))
    for consumer in registry():
        for event_type in consumer.consumed_types:
            assert event_type in stream_of(event_type).types


def test_a_consumer_receives_every_type_of_the_streams_it_reads_and_nothing_else():
    # when
    ledger = received_types("ledger")
    payments = received_types("payments")
    # then: the ledger acts on approvals and settlements, and receives the whole
    # payment stream (submissions, rejections...) so its sequence has no gap
    assert ledger == types_received({"PaymentApproved", "PaymentSettled"})
    assert {"PaymentSubmitted", "PaymentRejected", "PaymentCancelled"} <= ledger
    assert "PaymentReleased" not in ledger
    assert "SettlementFileReceived" not in ledger
    # and payments, which reads only the facts others publish about a payment,
    # does not receive its own events back
    assert payments == {"PaymentReleased", "PaymentSettled"}
    assert received_types("audit-of-everything") is None  # declared nowhere


def test_the_relay_sends_an_event_only_to_the_consumers_bound_to_its_type(
    broker, settings, alice, bob, acme_eur
):
    # given: an approval, and the bank gateway's release of it
    settings.EVENT_CONSUMERS = ["ledger", "payments", "bank_gateway"]
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    payment.refresh_from_db()
    released = event_to_outbox(
        payment_fact(
            "PaymentReleased",
            payment=payment,
            source="/bank-gateway",
            aspect="release",
        )
    )
    # when
    relay_once(publisher=publisher())
    # then: the payment's own events reach the ledger and the bank gateway, the
    # release reaches payments only
    waiting = {
        queue: [m.envelope["type"] for m in broker.drain(queue)]
        for queue in all_queues(settings.EVENT_CONSUMERS, settings.EVENT_PARTITIONS)
    }
    own = ["PaymentSubmitted", "PaymentApproved"]
    approved_partition = partition_of(str(payment.debtor_account_id))
    assert waiting[f"ledger.p{approved_partition}"] == own
    assert waiting[f"bank_gateway.p{approved_partition}"] == own
    assert waiting[queue_of("payments", released)] == ["PaymentReleased"]
    assert sum(map(len, waiting.values())) == 5
    assert receivers(["PaymentReleased"]) == ["payments"]


def test_a_replay_sends_a_consumer_only_the_streams_it_reads(
    broker, settings, acme, alice
):
    # given: a published submission and approval of one payment
    settings.EVENT_CONSUMERS = ["ledger", "payments"]
    submitted = outbox_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    relay_once(publisher=publisher())
    for queue in all_queues(settings.EVENT_CONSUMERS, settings.EVENT_PARTITIONS):
        broker.drain(queue)
    # when
    to_payments = events_replay(consumer="payments", subject=submitted.subject)
    to_ledger = events_replay(consumer="ledger", subject=submitted.subject)
    # then
    assert to_payments == 0
    assert to_ledger == 1
    assert [m.envelope["id"] for m in broker.drain(queue_of("ledger", submitted))] == [
        str(submitted.event_id)
    ]


def test_publish_refuses_a_subject_outside_its_types_stream(alice, acme_eur):
    # given: a settlement fact with the bare payment id as subject, which would
    # land in the sequence of the payment's own events at every consumer
    payment = payment_submitted(by=alice, account=acme_eur)
    settled = payment_fact(
        "PaymentSettled", payment=payment, source="/settlement", aspect="settlement"
    )
    # when / then
    with (
        pytest.raises(ContractViolation, match="payment-settlement"),
        transaction.atomic(),
    ):
        publish(
            event_type=settled.type,
            version=settled.version,
            source=settled.source,
            subject=str(payment.id),
            partition_key=settled.partition_key,
            sequence=1,
            data=settled.data,
        )
    assert not OutboxMessage.objects.filter(event_type="PaymentSettled").exists()
