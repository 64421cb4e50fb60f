"""Gauges read when Prometheus scrapes: the outbox backlog, each consumer's lag and
held events.

They ask the database and the broker, so they run per scrape (every 15 s or
so), never per event, and only in the process that owns the subject: the relay
reports the outbox, each worker its own consumer. They reuse the queries the
operators' pages use (events/relay_switch.py, events/monitoring.py). A
database or broker that cannot answer leaves its samples out for that scrape
(absent, not zero: a zero would say "all clear").
"""

import logging

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from events.models import DeliveryStatus, InboxEntry
from events.monitoring import queue_depths
from events.relay_switch import outbox_backlog
from events.topology import partition_queue_name

logger = logging.getLogger("events.metrics")


def _outbox_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "payments_outbox_backlog_rows",
            "Outbox rows committed and not yet published (skipped rows excluded).",
        ),
        GaugeMetricFamily(
            "payments_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished outbox row; 0 when none waits.",
        ),
    )


class OutboxCollector:
    """The outbox as the relay faces it: how many rows wait, and for how long."""

    def describe(self):
        return _outbox_families()

    def collect(self):
        backlog, age = _outbox_families()
        try:
            count, oldest = outbox_backlog()
        except Exception as exc:
            logger.warning("outbox backlog unknown: %s", exc)
            return
        backlog.add_metric([], count)
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield backlog
        yield age


def _consumer_families():
    return (
        GaugeMetricFamily(
            "payments_consumer_lag_messages",
            "Messages ready in the consumer's partition queue, per partition.",
            labels=["consumer", "partition"],
        ),
        GaugeMetricFamily(
            "payments_consumer_parked_events",
            "Events the consumer parked behind a gap in their payment's sequence.",
            labels=["consumer"],
        ),
        GaugeMetricFamily(
            "payments_consumer_dead_lettered_events",
            "Events the consumer dead-lettered and nobody redrove yet.",
            labels=["consumer"],
        ),
    )


class ConsumerCollector:
    """One consumer's lag in the broker and its held events in the inbox."""

    def __init__(self, consumer: str):
        self.consumer = consumer

    def describe(self):
        return _consumer_families()

    def collect(self):
        lag, parked, dead = _consumer_families()
        partitions = range(settings.EVENT_PARTITIONS)
        names = [partition_queue_name(self.consumer, n) for n in partitions]
        depths = queue_depths(names)
        for n, name in zip(partitions, names, strict=True):
            backlog = depths.queues[name].backlog
            if backlog is not None:
                lag.add_metric([self.consumer, str(n)], backlog)
        yield lag
        try:
            held = dict(
                InboxEntry.objects.filter(
                    consumer=self.consumer,
                    status__in=[DeliveryStatus.PARKED, DeliveryStatus.DEAD_LETTERED],
                )
                .values_list("status")
                .annotate(count=Count("id"))
                .order_by()
            )
        except Exception as exc:
            logger.warning("held events of %s unknown: %s", self.consumer, exc)
            return
        parked.add_metric([self.consumer], held.get(DeliveryStatus.PARKED, 0))
        dead.add_metric([self.consumer], held.get(DeliveryStatus.DEAD_LETTERED, 0))
        yield parked
        yield dead
