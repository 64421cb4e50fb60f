"""Fixtures for the consumers API (and the lab's fault controls, tests/lab/):
demo mode, operators, a private RabbitMQ virtual host, and payments whose events
the relay has published.
"""

import socket
import uuid

import pytest
from django.core.cache import cache

from events.models import OutboxMessage
from events.publishers import publisher_for
from events.relay import relay_once
from launcher.rabbitmqctl import rabbitmqctl_available, vhost_create, vhost_delete
from payments.services import payment_approve
from tests.conftest import service_missing
from tests.factories import UserFactory, payment_submitted

RABBIT = "amqp://guest:guest@127.0.0.1:5672"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Start each test without the broker overview a previous test cached."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    # Named, not left to the environment's default: bob and carol operate.
    settings.DEMO_OPERATORS = ["bob", "carol"]


@pytest.fixture
def staff(db):
    """A staff user without an organisation: an operator outside demo mode too."""
    return UserFactory(username="sam", is_staff=True)


@pytest.fixture
def rabbitmq(settings):
    """Point the app at a fresh RabbitMQ virtual host of this test, then drop it."""
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        service_missing("needs RabbitMQ on 127.0.0.1:5672")
    if not rabbitmqctl_available():
        service_missing("needs rabbitmqctl to create a private virtual host")
    vhost = f"test_{uuid.uuid4().hex[:10]}"
    vhost_create(vhost)
    settings.CELERY_BROKER_URL = f"{RABBIT}/{vhost}"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    yield settings.CELERY_BROKER_URL
    vhost_delete(vhost)


def relay_all(settings) -> int:
    """Publish every pending outbox row through the relay, as `run_relay` would."""
    publisher = publisher_for(settings.CELERY_BROKER_URL)
    try:
        return relay_once(publisher=publisher)
    finally:
        publisher.close()


def approved_payment(*, maker, approver, account):
    """Submit and approve a payment; return it and its two outbox rows, in order."""
    payment = payment_submitted(by=maker, account=account)
    payment_approve(payment_id=payment.id, actor=approver)
    rows = list(OutboxMessage.objects.filter(subject=str(payment.id)).order_by("id"))
    return payment, rows
