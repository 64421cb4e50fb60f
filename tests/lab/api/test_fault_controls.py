"""The demo's fault controls: redeliver, pause/resume, reversed delivery, redrive.

Each test reads the consumers' queues back from the broker (a private filesystem
broker, or a private RabbitMQ virtual host) and then lets the inbox consume what
it finds, so it checks what really travels and what the consumers make of it.
"""

import pytest
from kombu import Connection
from rest_framework.test import APIClient

from events.inbox import consume
from events.models import (
    ConsumerState,
    Delivery,
    DeliveryStatus,
    InboxEntry,
    OutboxMessage,
)
from events.worker import consumer_app, dead_letter
from tests.assertions import assert_problem
from tests.events.api.conftest import approved_payment, relay_all
from tests.events.conftest import drain, outbox_event, queue_of
from tests.factories import UserFactory, payment_submitted

pytestmark = pytest.mark.django_db

CONSUMERS = ["ledger", "notifications", "reconciliation"]
APPLIED, PARKED = DeliveryStatus.APPLIED, DeliveryStatus.PARKED
SKIPPED = DeliveryStatus.SKIPPED_DUPLICATE


@pytest.fixture(autouse=True)
def _three_consumers(settings):
    settings.EVENT_CONSUMERS = CONSUMERS
    settings.EVENT_PARTITIONS = 4


def redeliver(event_id) -> str:
    return f"/api/v1/events/{event_id}/redeliver"


def reversed_url(payment_id) -> str:
    return f"/api/v1/payments/{payment_id}/deliver-reversed"


def pause(name: str) -> str:
    return f"/api/v1/consumers/{name}/pause"


def resume(name: str) -> str:
    return f"/api/v1/consumers/{name}/resume"


def redrive(name: str) -> str:
    return f"/api/v1/consumers/{name}/dead-letters/redrive"


def ids(delivered) -> list[str]:
    return [message.envelope["id"] for message in delivered]


def statuses(consumer: str, row) -> list[str]:
    return list(
        Delivery.objects.filter(consumer=consumer, event_id=row.event_id)
        .order_by("at", "id")
        .values_list("status", flat=True)
    )


def first_event_id(payment) -> str:
    return str(OutboxMessage.objects.get(subject=str(payment.id), sequence=1).event_id)


def controls(payment, event_row) -> list[tuple[str, dict]]:
    return [
        (redeliver(event_row.event_id), {}),
        (pause("ledger"), {}),
        (resume("ledger"), {}),
        (reversed_url(payment.id), {"consumer": "ledger"}),
        (redrive("ledger"), {}),
    ]


# --- who may use them ---------------------------------------------------------


def test_outside_demo_mode_every_control_answers_404_as_if_it_did_not_exist(
    broker, settings, alice, bob, acme_eur, client_for
):
    # given
    settings.DEMO_MODE = False
    payment, (_, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    waiting = broker.waiting()
    # when / then: approvers and anonymous callers alike
    for client in (client_for(bob), APIClient()):
        for url, body in controls(payment, approved):
            assert_problem(client.post(url, body, format="json"), 404, "not-found")
    assert broker.waiting() == waiting
    assert not ConsumerState.objects.exists()


def test_a_maker_who_is_not_an_approver_is_refused_with_403(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given
    payment, (_, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    waiting = broker.waiting()
    refusals = [
        "role-required",  # redeliver: your organisation's event
        "operator-required",  # pause: every organisation's consumer
        "operator-required",  # resume
        "operator-required",  # reversed: rewrites a shared partition queue
        "role-required",  # redrive: your organisation's dead letters
    ]
    # when / then
    for (url, body), code in zip(controls(payment, approved), refusals, strict=True):
        response = client_for(alice).post(url, body, format="json")
        assert_problem(response, 403, code)
    assert broker.waiting() == waiting
    assert not ConsumerState.objects.exists()


def test_another_organisations_approver_may_not_pause_or_rewrite_shared_queues(
    broker, settings, demo, bob, gina, globex_eur, client_for
):
    # given: gina approves at globex; bob and carol are the demo's operators,
    # and ledger's partition queue holds one of globex's events
    payment = payment_submitted(by=gina, account=globex_eur)
    relay_all(settings)
    waiting = broker.waiting()
    client = client_for(gina)
    # when / then: the switches every organisation shares are refused
    for url, body in (
        (pause("ledger"), {}),
        (resume("ledger"), {}),
        (reversed_url(payment.id), {"consumer": "ledger"}),
    ):
        refused = assert_problem(client.post(url, body, format="json"), 403)
        assert refused["code"] == "operator-required"
        assert "every organisation" in refused["detail"]
    assert not ConsumerState.objects.exists()
    assert broker.waiting() == waiting


def test_staff_without_an_organisation_may_pause_but_reaches_no_tenant_event(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given
    staff = UserFactory(username="sam", is_staff=True)
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    waiting = broker.waiting()
    # when
    paused = client_for(staff).post(pause("ledger"))
    refused = client_for(staff).post(redeliver(approved.event_id))
    # then
    assert paused.status_code == 200, paused.content
    assert ConsumerState.objects.get(consumer="ledger").paused is True
    assert_problem(refused, 404, "event-not-found")
    assert broker.waiting() == waiting


# --- redeliver ----------------------------------------------------------------


def test_redeliver_publishes_the_event_once_more_to_every_consumer_which_skips_it(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given: the relay published both events and every consumer applied them
    _, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    for consumer in CONSUMERS:
        for message in broker.drain(queue_of(consumer, approved)):
            consume(consumer=consumer, envelope=message.envelope, handlers={})
    # when
    response = client_for(bob).post(redeliver(approved.event_id))
    # then: one publish to the stream exchange, fanned out to each consumer
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["event_id"] == str(approved.event_id)
    assert body["exchange"] == "payments.events"
    assert body["consumers"] == CONSUMERS
    assert broker.waiting() == {queue_of(c, approved): 1 for c in CONSUMERS}
    for consumer in CONSUMERS:
        [copy] = broker.drain(queue_of(consumer, approved))
        assert copy.envelope == approved.envelope
        assert copy.headers["task"] == "payments.events"
        assert consume(consumer=consumer, envelope=copy.envelope, handlers={}) == (
            SKIPPED
        )
        assert statuses(consumer, approved) == [APPLIED, SKIPPED]
        assert statuses(consumer, submitted) == [APPLIED]


def test_redeliver_with_the_same_idempotency_key_publishes_only_once(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    for consumer in CONSUMERS:
        broker.drain(queue_of(consumer, approved))
    client = client_for(bob)
    # when
    first = client.post(redeliver(approved.event_id), HTTP_IDEMPOTENCY_KEY="r-1")
    again = client.post(redeliver(approved.event_id), HTTP_IDEMPOTENCY_KEY="r-1")
    # then
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert broker.waiting() == {queue_of(c, approved): 1 for c in CONSUMERS}


def test_redeliver_refuses_an_event_the_relay_has_not_published_yet(
    broker, demo, alice, bob, acme_eur, client_for
):
    # given: no relay ran
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    # when
    response = client_for(bob).post(redeliver(approved.event_id))
    # then
    body = assert_problem(response, 409, "event-not-published")
    assert "not published" in body["detail"]
    assert broker.waiting() == {}


def test_redeliver_of_another_organisations_event_is_404_and_sends_nothing(
    broker, settings, demo, alice, bob, gina, acme_eur, client_for
):
    # given
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    waiting = broker.waiting()
    # when
    foreign = client_for(gina).post(redeliver(approved.event_id))
    unknown = client_for(bob).post(redeliver("00000000-0000-4000-8000-000000000000"))
    # then
    assert_problem(foreign, 404, "event-not-found")
    assert_problem(unknown, 404, "event-not-found")
    assert broker.waiting() == waiting


# --- pause and resume -----------------------------------------------------------


def test_pause_and_resume_set_the_flag_the_worker_obeys(broker, demo, bob, client_for):
    # given
    client = client_for(bob)
    # when
    paused = client.post(pause("ledger"))
    state_after_pause = ConsumerState.objects.get(consumer="ledger").paused
    resumed = client.post(resume("ledger"))
    # then
    assert paused.status_code == 200, paused.content
    assert paused.json()["consumer"] == "ledger"
    assert paused.json()["paused"] is True
    assert state_after_pause is True
    assert resumed.status_code == 200
    assert resumed.json()["paused"] is False
    assert ConsumerState.objects.get(consumer="ledger").paused is False
    assert not ConsumerState.objects.exclude(consumer="ledger").exists()


def test_pausing_an_unknown_consumer_is_404(broker, demo, bob, client_for):
    response = client_for(bob).post(pause("billing"))
    assert_problem(response, 404, "consumer-not-found")
    assert not ConsumerState.objects.exists()


# --- deliver in reverse order ----------------------------------------------------


def test_deliver_reversed_queues_the_later_event_first_so_the_consumer_parks_it(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given: ledger is paused; an earlier payment of the same debtor account
    # (same partition) and the new payment's two events wait in its queue
    client = client_for(bob)
    assert client.post(pause("ledger")).status_code == 200
    earlier_payment = payment_submitted(by=alice, account=acme_eur)
    payment, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    queue = queue_of("ledger", approved)
    # when
    response = client.post(
        reversed_url(payment.id), {"consumer": "ledger"}, format="json"
    )
    # then: the pair is queued later-first, behind the untouched other event
    assert response.status_code == 202, response.content
    body = response.json()
    assert [e["id"] for e in body["events"]] == [
        str(approved.event_id),
        str(submitted.event_id),
    ]
    assert body["consumers"] == [
        {
            "name": "ledger",
            "queue": queue,
            "in_order_copies_taken_out": 2,
            "other_messages_kept": 1,
        }
    ]
    ledger_queue = broker.drain(queue)
    earlier_id = first_event_id(earlier_payment)
    assert ids(ledger_queue) == [
        earlier_id,
        str(approved.event_id),
        str(submitted.event_id),
    ]
    # the other consumers' queues are not touched
    assert ids(broker.drain(queue_of("notifications", approved))) == [
        earlier_id,
        str(submitted.event_id),
        str(approved.event_id),
    ]
    # when the resumed consumer takes them in queue order
    outcomes = [
        consume(consumer="ledger", envelope=m.envelope, handlers={})
        for m in ledger_queue
    ]
    # then the later event parked, and was applied once the earlier one arrived
    assert outcomes == [APPLIED, PARKED, APPLIED]
    assert statuses("ledger", approved) == [PARKED, APPLIED]
    assert statuses("ledger", submitted) == [APPLIED]
    events = client.get(f"/api/v1/payments/{payment.id}/events").json()["results"]
    assert [(d["consumer"], d["status"]) for d in events[1]["deliveries"]] == [
        ("ledger", "parked"),
        ("ledger", "applied"),
    ]


def test_deliver_reversed_asks_to_pause_a_consumer_that_is_taking_messages(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given: ledger paused, the others not; default is every consumer
    client = client_for(bob)
    client.post(pause("ledger"))
    payment, _ = approved_payment(maker=alice, approver=bob, account=acme_eur)
    relay_all(settings)
    waiting = broker.waiting()
    # when
    response = client.post(reversed_url(payment.id), {}, format="json")
    # then
    body = assert_problem(response, 409, "reversal-not-possible")
    assert "Pause notifications, reconciliation first" in body["detail"]
    assert broker.waiting() == waiting


def test_deliver_reversed_refuses_events_the_consumer_already_applied(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given: ledger applied both events, then was paused
    client = client_for(bob)
    payment, (_, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    for message in broker.drain(queue_of("ledger", approved)):
        consume(consumer="ledger", envelope=message.envelope, handlers={})
    client.post(pause("ledger"))
    waiting = broker.waiting()
    # when
    response = client.post(
        reversed_url(payment.id), {"consumer": "ledger"}, format="json"
    )
    # then: the problem explains the flow that does show parking
    body = assert_problem(response, 409, "reversal-not-possible")
    assert "ledger already applied event #1" in body["detail"]
    assert "approve a new payment" in body["detail"]
    assert broker.waiting() == waiting


def test_deliver_reversed_is_tenant_safe_and_checks_its_input(
    broker, settings, demo, alice, bob, gina, acme_eur, client_for
):
    # given
    payment, _ = approved_payment(maker=alice, approver=bob, account=acme_eur)
    only_submitted = payment_submitted(by=alice, account=acme_eur)
    relay_all(settings)
    client_for(bob).post(pause("ledger"))
    waiting = broker.waiting()
    settings.DEMO_OPERATORS = ["bob", "gina"]  # gina may operate, not reach acme
    # when / then
    foreign = client_for(gina).post(
        reversed_url(payment.id), {"consumer": "ledger"}, format="json"
    )
    assert_problem(foreign, 404, "payment-not-found")
    unknown = client_for(bob).post(
        reversed_url(payment.id), {"consumer": "billing"}, format="json"
    )
    assert "consumer" in assert_problem(unknown, 400, "validation-error")["errors"]
    single = client_for(bob).post(
        reversed_url(only_submitted.id), {"consumer": "ledger"}, format="json"
    )
    assert_problem(single, 409, "reversal-not-possible")
    assert broker.waiting() == waiting


# --- redrive dead letters ------------------------------------------------------


def dead_lettered(rows, *, consumer: str = "ledger") -> None:
    """Dead-letter each row's event the way a worker does after its last retry."""
    app = consumer_app(consumer, {})
    for row in rows:
        dead_letter(app, consumer, row.envelope, "RuntimeError: boom")


def test_redrive_moves_the_organisations_dead_letters_back_to_their_partition(
    broker, settings, demo, alice, bob, gina, globex, acme_eur, client_for
):
    # given: two acme events and one globex event in ledger.dead
    _, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    foreign = outbox_event("PaymentSubmitted", organisation=globex, submitted_by=gina)
    dead_lettered([submitted, approved, foreign])
    assert broker.waiting() == {"ledger.dead": 3}
    # when
    response = client_for(bob).post(redrive("ledger"), {}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["moved"] == 2
    assert body["left"] == 1
    assert body["event_ids"] == [str(submitted.event_id), str(approved.event_id)]
    queue = queue_of("ledger", approved)
    assert broker.waiting() == {"ledger.dead": 1, queue: 2}
    moved = broker.drain(queue)
    assert [m.envelope for m in moved] == [submitted.envelope, approved.envelope]
    assert all("x-error" not in m.headers for m in moved)
    [left] = broker.drain("ledger.dead")
    assert left.envelope == foreign.envelope
    assert left.headers["x-error"] == "RuntimeError: boom"
    # and the consumer now applies them
    for message in moved:
        assert consume(consumer="ledger", envelope=message.envelope, handlers={}) == (
            APPLIED
        )
    assert list(
        InboxEntry.objects.filter(consumer="ledger", subject=submitted.subject)
        .order_by("sequence")
        .values_list("status", flat=True)
    ) == [APPLIED, APPLIED]


def test_redrive_of_one_event_leaves_every_other_dead_letter_in_place(
    broker, settings, demo, alice, bob, acme_eur, client_for
):
    # given
    _, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    dead_lettered([submitted, approved])
    client = client_for(bob)
    # when
    response = client.post(
        redrive("ledger"), {"event_id": str(approved.event_id)}, format="json"
    )
    missing = client.post(
        redrive("ledger"),
        {"event_id": "00000000-0000-4000-8000-000000000000"},
        format="json",
    )
    # then
    assert response.status_code == 200, response.content
    assert response.json()["event_ids"] == [str(approved.event_id)]
    assert_problem(missing, 404, "dead-letter-not-found")
    [moved] = broker.drain(queue_of("ledger", approved))
    assert moved.envelope == approved.envelope
    [kept] = broker.drain("ledger.dead")
    assert kept.envelope == submitted.envelope
    assert kept.headers["x-error"] == "RuntimeError: boom"


def test_redrive_of_another_organisations_dead_letter_is_404(
    broker, settings, demo, alice, bob, gina, acme_eur, client_for
):
    # given
    _, (_, approved) = approved_payment(maker=alice, approver=bob, account=acme_eur)
    dead_lettered([approved])
    # when
    response = client_for(gina).post(
        redrive("ledger"), {"event_id": str(approved.event_id)}, format="json"
    )
    everything = client_for(gina).post(redrive("ledger"), {}, format="json")
    # then
    assert_problem(response, 404, "dead-letter-not-found")
    assert everything.json()["moved"] == 0
    assert broker.waiting() == {"ledger.dead": 1}


# --- the same on RabbitMQ, where a taken message is only gone once acknowledged ----


def test_on_rabbitmq_redrive_and_reversed_delivery_move_exactly_their_messages(
    rabbitmq, settings, demo, alice, bob, acme_eur, client_for
):
    # given: ledger paused; a dead letter; a payment whose events wait in ledger's queue
    client = client_for(bob)
    client.post(pause("ledger"))
    _, (dead_submitted, dead_approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    for consumer in CONSUMERS:
        drain(Connection(rabbitmq), queue_of(consumer, dead_approved))
    dead_lettered([dead_submitted, dead_approved])
    payment, (submitted, approved) = approved_payment(
        maker=alice, approver=bob, account=acme_eur
    )
    relay_all(settings)
    # when
    reordered = client.post(
        reversed_url(payment.id), {"consumer": "ledger"}, format="json"
    )
    redriven = client.post(
        redrive("ledger"), {"event_id": str(dead_approved.event_id)}, format="json"
    )
    # then
    assert reordered.status_code == 202, reordered.content
    assert redriven.status_code == 200, redriven.content
    assert ids(drain(Connection(rabbitmq), queue_of("ledger", approved))) == [
        str(approved.event_id),
        str(submitted.event_id),
        str(dead_approved.event_id),
    ]
    assert ids(drain(Connection(rabbitmq), "ledger.dead")) == [
        str(dead_submitted.event_id)
    ]
    assert ids(drain(Connection(rabbitmq), queue_of("notifications", approved))) == [
        str(submitted.event_id),
        str(approved.event_id),
    ]
