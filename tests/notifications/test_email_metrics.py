"""The e-mail outbox on /metrics: each try counted by outcome, the backlog read
at scrape time. Real commits, a real SMTP server (aiosmtpd)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry

from events.inbox import consume
from notifications import email_metrics
from notifications.email_metrics import EMAILS, EmailOutboxCollector
from notifications.emails import notification_emails_send_due
from notifications.handlers import HANDLERS
from notifications.models import EmailStatus, Notification
from notifications.sender import EmailSender
from tests.events_builders import payment_event

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("with_emails"),
]


@pytest.fixture(autouse=True)
def mailer_mode(settings):
    """The consumer records the e-mails; only the pass the test runs sends."""
    settings.NOTIFICATION_EMAIL_SENDER = "mailer"


def submitted(acme, alice) -> None:
    """A submission: two approvers (bob, carol) to e-mail."""
    event = payment_event("PaymentSubmitted", organisation=acme, submitted_by=alice)
    consume(consumer="notifications", envelope=event.envelope, handlers=HANDLERS)


def tried(outcome: str) -> float:
    return EMAILS.labels(outcome)._value.get()


def scraped() -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(EmailOutboxCollector())
    return {
        sample.name: sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def test_each_try_is_counted_by_its_outcome(smtp_server, acme, alice, bob):
    # given: two e-mails due, the mail server refusing bob
    submitted(acme, alice)
    smtp_server.refuse_address(bob.email)
    sent, retry = tried("sent"), tried("retry")

    # when
    notification_emails_send_due()

    # then: one handed over, one refused and due again later
    assert (tried("sent") - sent, tried("retry") - retry) == (1, 1)
    assert len(smtp_server.received) == 1


def test_the_scrape_reads_what_waits_and_what_was_given_up(acme, alice):
    # given: nothing recorded yet
    assert scraped() == {
        "payments_notification_emails_pending": 0,
        "payments_notification_emails_oldest_pending_age_seconds": 0,
        "payments_notification_emails_failed": 0,
    }

    # when: two submissions' four e-mails, the oldest recorded 10 minutes
    # ago, and one of the others given up
    submitted(acme, alice)
    submitted(acme, alice)
    oldest, given_up, *_ = Notification.objects.order_by("created_at")
    Notification.objects.filter(id=oldest.id).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    Notification.objects.filter(id=given_up.id).update(
        email_status=EmailStatus.FAILED, email_error="550 no such user"
    )

    # then
    now = scraped()
    assert now["payments_notification_emails_pending"] == 3
    assert now["payments_notification_emails_failed"] == 1
    assert 600 <= now["payments_notification_emails_oldest_pending_age_seconds"] < 660


@pytest.mark.parametrize(("sender", "served"), [("worker", True), ("mailer", False)])
def test_the_gauges_are_served_by_the_process_that_sends(
    monkeypatch, settings, acme, alice, sender, served
):
    # given: two e-mails waiting, and a process registry of its own
    submitted(acme, alice)
    registry = CollectorRegistry()
    monkeypatch.setattr(email_metrics, "REGISTRY", registry)
    monkeypatch.setattr(email_metrics, "_observed", False)
    settings.NOTIFICATION_EMAIL_SENDER = sender

    # when: the notifications worker starts its sender
    EmailSender().enable()

    # then: its /metrics says what waits only if it is the one that sends
    pending = registry.get_sample_value("payments_notification_emails_pending")
    assert pending == (2 if served else None)
