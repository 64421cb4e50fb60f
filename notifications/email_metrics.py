"""The e-mail outbox on /metrics: what each send came to, and what still waits.

The counter is counted where an e-mail is tried (notifications/emails.py), in
whichever process sends: the mailer, or the notifications worker when
NOTIFICATION_EMAIL_SENDER=worker. The gauges are read from the database when
Prometheus scrapes that same process (`email_outbox_observed`), never per
e-mail; a database that cannot
answer leaves them out for that scrape (absent, not zero: a zero would say
"all clear"). Alerts on them: deploy/prometheus/alerts.yml.
"""

import logging

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily

from notifications.models import EmailStatus, Notification

logger = logging.getLogger("notifications.metrics")

EMAILS = Counter(
    "payments_notification_emails",
    "Notification e-mails tried, by outcome: sent (handed to the mail server), "
    "retry (refused, due again after a backoff), server_down (not reached; "
    "the rest of the pass went back due), failed (given up for good), "
    "no_address (the recipient has none).",
    ["outcome"],
)


def email_outcome_counted(outcome: str) -> None:
    EMAILS.labels(outcome).inc()


def _families() -> tuple[GaugeMetricFamily, ...]:
    return (
        GaugeMetricFamily(
            "payments_notification_emails_pending",
            "Notification e-mails not sent yet: due, in a backoff, or claimed.",
        ),
        GaugeMetricFamily(
            "payments_notification_emails_oldest_pending_age_seconds",
            "Age of the oldest notification whose e-mail is not sent yet; 0 "
            "when none waits.",
        ),
        GaugeMetricFamily(
            "payments_notification_emails_failed",
            "Notification e-mails given up for good (email_error says why), "
            "until an operator sends them again.",
        ),
    )


class EmailOutboxCollector:
    def describe(self):
        return _families()

    def collect(self):
        pending, age, failed = _families()
        try:
            waiting = Notification.objects.filter(
                email_status=EmailStatus.PENDING
            ).aggregate(count=Count("id"), oldest=Min("created_at"))
            given_up = Notification.objects.filter(
                email_status=EmailStatus.FAILED
            ).count()
        except Exception as exc:
            logger.warning("e-mail outbox unknown: %s", exc)
            return
        oldest = waiting["oldest"]
        pending.add_metric([], waiting["count"])
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0)
        failed.add_metric([], given_up)
        yield pending
        yield age
        yield failed


_observed = False


def email_outbox_observed() -> None:
    """Serve the gauges on this process's /metrics: the one that sends."""
    global _observed
    if not _observed:
        REGISTRY.register(EmailOutboxCollector())
        _observed = True
