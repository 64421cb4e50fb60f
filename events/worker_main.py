"""Every consumer's worker entry: `celery -A events.worker_main:<name> worker`.

Celery imports this module and asks it for the attribute named after the
consumer; the app is built from that consumer's declaration
(events/consumers.py), so no consumer repeats the boot code.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from celery import Celery  # noqa: E402 - after django.setup()
from celery.signals import worker_shutdown  # noqa: E402

from events.consumers import Consumer, consumer_get  # noqa: E402
from events.worker import consumer_app  # noqa: E402
from observability.logs import celery_logging_keep_ours  # noqa: E402
from observability.tracing import tracing_flush  # noqa: E402

celery_logging_keep_ours()
# The atexit hook flushes too; this is the moment the worker says it stops.
worker_shutdown.connect(lambda **_: tracing_flush(), weak=False)


def worker_app(consumer: Consumer) -> Celery:
    """Prepare this process for the consumer and build its Celery app."""
    if consumer.worker_init is not None:
        consumer.worker_init()
    return consumer_app(
        consumer.name,
        consumer.handlers,
        periodic=[(job.seconds(), job.job) for job in consumer.periodic],
        consumes=consumer.consumed_types,
    )


def __getattr__(name: str) -> Celery:
    # Module attributes looked up by name (PEP 562): `events.worker_main:ledger`.
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        consumer = consumer_get(name)
    except LookupError as exc:
        raise AttributeError(str(exc)) from None
    app = globals()[name] = worker_app(consumer)
    return app
