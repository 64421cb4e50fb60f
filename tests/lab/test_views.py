"""The fault lab: demo mode only; its payment commands are the payments service's,
run as the signed-in user; controls reaching one organisation's events are for
its approvers, switches every organisation shares for operators. A poison
message dead-letters and the outbox repairs it; replay stays inside the
organisation; the relay switch.
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
from tests.events.conftest import event_to_outbox, queue_of
from tests.events_builders import payment_fact
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

LAB_POSTS = [
    ("/lab/poison", {"consumer": "ledger", "payment_id": str(uuid.uuid4())}),
    ("/lab/repair", {"consumer": "ledger"}),
    ("/lab/replay", {"consumer": "ledger"}),
    ("/lab/relay", {"paused": True}),
    ("/lab/payments", {}),
]


@pytest.fixture(autouse=True)
def _three_consumers(settings):
    settings.EVENT_CONSUMERS = ["ledger", "notifications", "reconciliation"]
    settings.EVENT_PARTITIONS = 4
    settings.DEMO_OPERATORS = ["bob", "carol"]


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


def test_a_maker_sees_the_lab_with_the_controls_she_may_not_use_off_and_why(
    demo, alice, browser_for
):
    # given
    browser = browser_for(alice)
    # when
    page = browser.get("/lab").content.decode()
    # then: the controls are there, disabled, and the page says why
    assert 'data-action="pause" disabled' in page
    assert 'data-action="redrive" disabled' in page
    assert 'data-locked="operator"' in page
    assert 'data-locked="approver"' in page
    assert "act for every organisation" in page
    assert 'data-action="new-payment" disabled' not in page
    # and the server refuses them anyway
    for url, body, code in [
        ("/lab/poison", LAB_POSTS[0][1], "operator-required"),
        ("/lab/relay", {"paused": True}, "operator-required"),
        ("/lab/repair", {"consumer": "ledger"}, "role-required"),
        ("/lab/replay", {"consumer": "ledger"}, "role-required"),
    ]:
        assert_problem(post(browser, url, body), 403, code)
    assert not RelayState.objects.exists()


def test_an_operator_sees_every_control_on(demo, bob, browser_for):
    page = browser_for(bob).get("/lab").content.decode()
    assert "disabled" not in page.split('class="lab"', 1)[1]
    assert "data-locked" not in page


def test_another_organisations_approver_may_not_stop_the_relay_or_poison(
    demo, gina, globex_eur, browser_for
):
    # given
    browser = browser_for(gina)
    # when
    page = browser.get("/lab").content.decode()
    stopped = post(browser, "/lab/relay", {"paused": True})
    poisoned = post(browser, "/lab/poison", LAB_POSTS[0][1])
    # then: her organisation's controls are hers, the shared switches are not
    assert 'data-action="relay-stop" disabled' in page
    assert 'data-action="redrive" disabled' not in page
    assert_problem(stopped, 403, "operator-required")
    assert_problem(poisoned, 403, "operator-required")
    assert not RelayState.objects.exists()


def test_lab_commands_run_as_the_signed_in_user(
    demo, alice, carol, acme_eur, browser_for
):
    # when: alice submits in the lab, carol approves it there
    made = post(browser_for(alice), "/lab/payments")
    assert made.status_code == 201, made.content
    payment_id = made.json()["id"]
    approved = post(browser_for(carol), f"/lab/payments/{payment_id}/approve")
    # then
    assert approved.status_code == 200, approved.content
    assert approved.json()["approved_by"] == "carol"
    payment = Payment.objects.get(id=payment_id)
    assert (payment.submitted_by, payment.approved_by) == (alice, carol)
    assert payment.status == PaymentStatus.APPROVED
    assert list(
        OutboxMessage.objects.filter(subject=str(payment.id))
        .order_by("sequence")
        .values_list("event_type", flat=True)
    ) == ["PaymentSubmitted", "PaymentApproved"]


def test_the_lab_never_approves_your_own_payment_as_someone_else(
    demo, alice, bob, carol, acme_eur, browser_for
):
    # given: carol submitted a payment in the lab
    browser = browser_for(carol)
    made = post(browser, "/lab/payments")
    assert made.status_code == 201, made.content
    payment = Payment.objects.get(id=made.json()["id"])
    # when: she approves it there
    refused = post(browser, f"/lab/payments/{payment.id}/approve")
    # then: maker-checker refuses her, as everywhere; nobody approved for her
    assert_problem(refused, 403, "maker-checker")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    assert payment.approved_by is None
    assert not OutboxMessage.objects.filter(event_type="PaymentApproved").exists()


def test_a_lab_command_needs_the_role_the_service_asks_for(
    demo, bob, acme_eur, browser_for
):
    # when: bob approves but does not make payments
    refused = post(browser_for(bob), "/lab/payments")
    # then
    assert_problem(refused, 403, "role-required")
    assert not Payment.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_the_lab_refuses_another_organisations_payment(
    demo, alice, gina, acme_eur, browser_for
):
    made = post(browser_for(alice), "/lab/payments")
    refused = post(browser_for(gina), f"/lab/payments/{made.json()['id']}/approve")
    assert_problem(refused, 404, "payment-not-found")
    assert Payment.objects.get().status == PaymentStatus.PENDING_APPROVAL


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


def test_replaying_a_payment_sends_its_settlement_too_and_counts_it_once(
    broker, settings, demo, alice, bob, acme_eur, browser_for
):
    # given: an approved payment, and the settlement's fact about it
    payment, _ = approved_payment(maker=alice, approver=bob, account=acme_eur)
    settled = payment_fact(
        "PaymentSettled", payment=payment, source="/settlement", aspect="settlement"
    )
    event_to_outbox(settled)
    relay_all(settings)
    for n in range(settings.EVENT_PARTITIONS):
        broker.drain(f"ledger.p{n}")

    # when
    replayed = post(
        browser_for(bob),
        "/lab/replay",
        {"consumer": "ledger", "payment_id": str(payment.id)},
    )

    # then: its three events, one payment
    assert replayed.status_code == 202, replayed.content
    assert (replayed.json()["sent"], replayed.json()["payments"]) == (3, 1)
    sent = [m for n in range(4) for m in broker.drain(f"ledger.p{n}")]
    assert sorted(m.envelope["type"] for m in sent) == [
        "PaymentApproved",
        "PaymentSettled",
        "PaymentSubmitted",
    ]


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
