"""The fault lab: demo mode only, approvers only; a poison message dead-letters and
the outbox repairs it; replay stays inside the organisation; the relay switch.
"""

import uuid

import pytest

from events.models import (
    ConsumerState,
    Delivery,
    DeliveryStatus,
    InboxEntry,
    OutboxMessage,
    RelayState,
)
from events.topology import STREAM, dead_letter_queue_name
from events.worker import consumer_app
from ledger.handlers import HANDLERS as LEDGER_HANDLERS
from ledger.models import JournalEntry
from payments.models import Payment, PaymentStatus
from tests.assertions import assert_problem
from tests.events.api.conftest import approved_payment, relay_all
from tests.events.conftest import queue_of
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

LAB_POSTS = [
    ("/lab/poison", {"consumer": "ledger", "payment_id": str(uuid.uuid4())}),
    ("/lab/repair", {"consumer": "ledger"}),
    ("/lab/replay", {"consumer": "ledger"}),
    ("/lab/relay", {"paused": True}),
    ("/lab/payments", {"approve": True}),
]


@pytest.fixture(autouse=True)
def _three_consumers(settings):
    settings.EVENT_CONSUMERS = ["ledger", "notifications", "reconciliation"]
    settings.EVENT_PARTITIONS = 4


def post(browser, url, body=None):
    return browser.post(url, body or {}, content_type="application/json")


def test_outside_demo_mode_the_lab_does_not_exist(settings, alice, bob, browser_for):
    # given
    settings.DEMO_MODE = False
    browser = browser_for(bob)
    # when / then
    assert browser.get("/lab").status_code == 404
    assert browser.get("/lab/state").status_code == 404
    for url, body in LAB_POSTS:
        assert_problem(post(browser, url, body), 404, "not-found")
    assert not RelayState.objects.exists()
    assert not Payment.objects.exists()
    assert "Fault lab" not in browser.get("/payments").content.decode()


def test_a_maker_sees_the_lab_but_may_not_use_it(demo, alice, browser_for):
    # given
    browser = browser_for(alice)
    # when
    page = browser.get("/lab").content.decode()
    # then
    assert "The controls are for approvers." in page
    for url, body in LAB_POSTS:
        assert_problem(post(browser, url, body), 403, "role-required")
    assert not RelayState.objects.exists()
    assert not Payment.objects.exists()


def test_the_demo_payment_runs_both_commands_with_maker_checker(
    demo, alice, bob, acme_eur, browser_for
):
    # when
    made = post(browser_for(bob), "/lab/payments", {"approve": True})
    # then
    assert made.status_code == 201, made.content
    payment = Payment.objects.get(id=made.json()["id"])
    assert (payment.submitted_by, payment.approved_by) == (alice, bob)
    assert payment.status == PaymentStatus.APPROVED
    assert list(
        OutboxMessage.objects.filter(subject=str(payment.id))
        .order_by("sequence")
        .values_list("event_type", flat=True)
    ) == ["PaymentSubmitted", "PaymentApproved"]


def test_the_demo_payment_refuses_when_nobody_else_may_approve(
    demo, gina, globex_eur, browser_for
):
    # when: gina is her organisation's only demo user
    refused = post(browser_for(gina), "/lab/payments", {"approve": True})
    # then
    assert_problem(refused, 409, "demo-payment-not-possible")
    assert not Payment.objects.exists()


def test_the_relay_switch_pauses_and_resumes_publishing(demo, bob, browser_for):
    # when
    stopped = post(browser_for(bob), "/lab/relay", {"paused": True})
    # then
    assert stopped.status_code == 200
    assert RelayState.objects.get().paused is True
    assert "outbox" in stopped.json()["detail"]
    # when
    post(browser_for(bob), "/lab/relay", {"paused": False})
    # then
    assert RelayState.objects.get().paused is False


def test_a_poison_message_dead_letters_and_the_outbox_repairs_it(
    broker, settings, demo, alice, bob, acme_eur, browser_for
):
    # given: ledger is paused and alice's new payment waits in its queue
    ConsumerState.objects.create(consumer="ledger", paused=True)
    payment = payment_submitted(by=alice, account=acme_eur)
    relay_all(settings)
    submitted = OutboxMessage.objects.get(subject=str(payment.id))
    browser = browser_for(bob)

    # when: the poison copy takes the real copy's place
    poisoned = post(
        browser, "/lab/poison", {"consumer": "ledger", "payment_id": str(payment.id)}
    )

    # then: one message for this event, its amount a string
    assert poisoned.status_code == 202, poisoned.content
    [message] = broker.drain(queue_of("ledger", submitted))
    assert message.envelope["id"] == str(submitted.event_id)
    assert message.envelope["data"]["amount"] == "125.50"

    # when: the consumer receives it
    ledger = consumer_app("ledger", LEDGER_HANDLERS)
    outcome = ledger.tasks[STREAM].apply(args=[message.envelope]).get()

    # then: dead-lettered at once, visibly
    assert outcome == DeliveryStatus.DEAD_LETTERED
    entry = InboxEntry.objects.get(consumer="ledger", event_id=submitted.event_id)
    assert entry.status == DeliveryStatus.DEAD_LETTERED
    assert "contract" in entry.error
    consumers_page = browser.get("/consumers").content.decode()
    assert 'data-trouble="ledger:dead_lettered"' in consumers_page
    assert "contract:" in consumers_page

    # when: the approval arrives behind it
    payment_approve_as(bob, payment)
    approved = OutboxMessage.objects.get(
        subject=str(payment.id), event_type="PaymentApproved"
    )
    ledger.tasks[STREAM].apply(args=[approved.envelope]).get()

    # then: it waits, parked behind the dead letter
    assert InboxEntry.objects.get(
        consumer="ledger", event_id=approved.event_id
    ).status == (DeliveryStatus.PARKED)
    assert not JournalEntry.objects.exists()

    # when: the fault is cleared by repairing from the outbox
    repaired = post(browser, "/lab/repair", {"consumer": "ledger"})

    # then: the dead queue is empty and the committed copy waits in the partition
    assert repaired.status_code == 200, repaired.content
    assert repaired.json()["repaired"] == 1
    assert broker.drain(dead_letter_queue_name("ledger")) == []
    [fixed] = broker.drain(queue_of("ledger", submitted))
    assert fixed.envelope == submitted.envelope

    # when: the consumer receives the repaired copy
    ledger.tasks[STREAM].apply(args=[fixed.envelope]).get()

    # then: both events applied, the payment booked once
    assert set(
        InboxEntry.objects.filter(
            consumer="ledger", subject=str(payment.id)
        ).values_list("status", flat=True)
    ) == {DeliveryStatus.APPLIED}
    assert JournalEntry.objects.filter(payment_id=payment.id).count() == 1


def payment_approve_as(approver, payment):
    from payments.services import payment_approve

    payment_approve(payment_id=payment.id, actor=approver)


def test_a_poison_message_needs_a_paused_consumer_that_has_not_applied_it(
    broker, settings, demo, alice, bob, acme_eur, browser_for
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    relay_all(settings)
    browser = browser_for(bob)
    body = {"consumer": "ledger", "payment_id": str(payment.id)}
    waiting = broker.waiting()
    # when / then: ledger is running
    refused = assert_problem(post(browser, "/lab/poison", body), 409)
    assert "Pause ledger" in refused["detail"]
    # when / then: paused, but it already applied the event
    ConsumerState.objects.create(consumer="ledger", paused=True)
    from events.models import ConsumerPosition

    ConsumerPosition.objects.create(
        consumer="ledger", subject=str(payment.id), last_sequence=1
    )
    refused = assert_problem(post(browser, "/lab/poison", body), 409)
    assert "already applied PaymentSubmitted #1" in refused["detail"]
    assert broker.waiting() == waiting


def test_repair_reaches_only_the_organisations_dead_letters(
    broker, settings, demo, alice, bob, gina, acme_eur, globex_eur, browser_for
):
    # given: a dead letter of globex's event in ledger.dead
    theirs = payment_submitted(by=gina, account=globex_eur)
    relay_all(settings)
    row = OutboxMessage.objects.get(subject=str(theirs.id))
    for message in broker.drain(queue_of("ledger", row)):
        data = {**message.envelope["data"], "amount": "x"}
        broken = {**message.envelope, "data": data}
        consumer_app("ledger", {}).tasks[STREAM].apply(args=[broken]).get()
    # when
    refused = post(browser_for(bob), "/lab/repair", {"consumer": "ledger"})
    # then
    assert_problem(refused, 404, "nothing-to-repair")
    assert len(broker.drain(dead_letter_queue_name("ledger"))) == 1


def test_replay_sends_only_the_organisations_events_to_one_consumer(
    broker, settings, demo, alice, bob, gina, acme_eur, globex_eur, browser_for
):
    # given
    approved_payment(maker=alice, approver=bob, account=acme_eur)
    payment_submitted(by=gina, account=globex_eur)
    relay_all(settings)
    for consumer in ("ledger", "notifications", "reconciliation"):
        for n in range(4):
            broker.drain(f"{consumer}.p{n}")
    # when
    replayed = post(browser_for(bob), "/lab/replay", {"consumer": "ledger"})
    # then
    assert replayed.status_code == 202, replayed.content
    assert replayed.json()["sent"] == 2
    sent = [m for n in range(4) for m in broker.drain(f"ledger.p{n}")]
    assert {m.envelope["data"]["organisation_id"] for m in sent} == {
        str(alice.membership.organisation_id)
    }
    assert sum(broker.waiting().values()) == 0


def test_the_lab_state_counts_a_consumers_deliveries_since_a_moment(
    demo, alice, bob, acme_eur, browser_for
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    event = OutboxMessage.objects.get(subject=str(payment.id))
    Delivery.objects.create(
        consumer="ledger", event_id=event.event_id, status="skipped_duplicate"
    )
    # when
    state = browser_for(bob).get(
        "/lab/state", {"consumer": "ledger", "since": "2000-01-01T00:00:00Z"}
    )
    # then
    assert state.status_code == 200, state.content
    assert state.json()["tally"] == {"skipped_duplicate": 1}
    assert state.json()["outbox_waiting"] == 1
