"""A mail server that stalls holds up neither the notifications consumer nor a row.

Real commits (transaction=True) and the worker's background sender, against a
real SMTP server that accepts the connection and then sits on the recipient.
"""

import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from events.inbox import consume
from events.models import DeliveryStatus, InboxEntry
from notifications.handlers import HANDLERS
from notifications.models import EmailStatus, Notification
from tests.events_builders import payment_event
from tests.notifications.smtp_server import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("with_emails"),
]


def consume_timed(event) -> tuple[str, float]:
    started = time.monotonic()
    status = consume(
        consumer="notifications", envelope=event.envelope, handlers=HANDLERS
    )
    return status, time.monotonic() - started


def row_lock_wait(notification_id) -> float:
    """Seconds this connection waits to lock the row (BEGIN IMMEDIATE on SQLite)."""
    started = time.monotonic()
    with transaction.atomic():
        nowait = connection.features.has_select_for_update_nowait
        Notification.objects.select_for_update(nowait=nowait).get(id=notification_id)
    return time.monotonic() - started


def test_a_stalling_mail_server_holds_up_neither_the_consumer_nor_the_row(
    settings, smtp_server, background_sender, acme, alice, bob, carol
):
    # given: a mail server that stalls (EMAIL_TIMEOUT is 1 s)
    settings.NOTIFICATION_EMAIL_RETRY_SECONDS = 0.2
    smtp_server.stall()
    fields = {"organisation": acme, "submitted_by": alice}
    submitted = payment_event("PaymentSubmitted", **fields)
    approved = payment_event(
        "PaymentApproved",
        actor=bob,
        payment_id=submitted.data["payment_id"],
        debtor_account_id=submitted.data["debtor_account_id"],
        **fields,
    )

    # when: the submission is consumed and its e-mail meets the stall
    status, took = consume_timed(submitted)
    wait_until(smtp_server.mailbox.stalling.is_set)

    # then: the event's transaction committed without waiting for SMTP
    assert (status, took < 0.5) == (DeliveryStatus.APPLIED, True)
    assert InboxEntry.objects.get(event_id=submitted.id).status == "applied"
    # and: the pass claimed both approvers' e-mails at once, and is stalled
    # on the first; while SMTP stalls, no row is locked and the consumer goes on
    claimed = Notification.objects.filter(email_attempts=1)
    assert {n.email_status for n in claimed} == {EmailStatus.PENDING}
    assert len(claimed) == 2
    assert max(row_lock_wait(n.id) for n in claimed) < 0.5
    status, took = consume_timed(approved)
    assert (status, took < 0.5) == (DeliveryStatus.APPLIED, True)
    assert smtp_server.mailbox.stalling.is_set()

    # then: the stalled send times out within EMAIL_TIMEOUT, and is due again
    in_flight = wait_until(
        lambda: Notification.objects.filter(
            id__in=[n.id for n in claimed], email_error__gt=""
        ).first(),
        timeout=5,
    )
    assert "timed out" in in_flight.email_error
    assert (in_flight.email_status, in_flight.email_attempts) == ("pending", 1)
    # and: the e-mail the pass never tried is given back, its attempt uncounted
    [untried] = [n for n in claimed if n.id != in_flight.id]
    untried = wait_until(
        lambda: Notification.objects.filter(id=untried.id, email_attempts=0).first()
    )
    assert untried.email_error == ""
    assert untried.email_next_attempt_at <= timezone.now()
    assert smtp_server.received == []

    # when: the server recovers, and the worker's timer asks for sweeps
    smtp_server.recover()

    def all_sent():
        background_sender.sweep()
        time.sleep(0.1)
        return not Notification.objects.exclude(email_status="sent").exists()

    wait_until(all_sent, timeout=10, interval=0.3)

    # then: each e-mail arrived once, with its Message-ID
    def message_id(event, user):
        return f"<{event.id}.{user.pk}@example.com>"

    assert sorted(
        (r.rcpt_tos[0], r.message["Message-ID"], r.message["Subject"])
        for r in smtp_server.received
    ) == [
        (
            "alice@example.com",
            message_id(approved, alice),
            "Approved: your payment of 125.50 EUR to Initech Supplies",
        ),
        (
            "bob@example.com",
            message_id(submitted, bob),
            "Approval needed: 125.50 EUR to Initech Supplies",
        ),
        (
            "carol@example.com",
            message_id(submitted, carol),
            "Approval needed: 125.50 EUR to Initech Supplies",
        ),
    ]
    assert Notification.objects.get(id=in_flight.id).email_attempts == 2
    assert Notification.objects.get(id=untried.id).email_attempts == 1
