"""The relay when the broker goes away: it stays up, backs off, then drains in order.

RabbitMQ itself keeps running; a TCP proxy between the relay and it is cut and
restored, which to the relay is indistinguishable from a broker outage.
"""

import signal
import time

import pytest

from launcher.local import RABBIT, rabbitmq_reachable, stack_down, stack_up
from tests.conftest import service_missing
from tests.e2e.queued import drained
from tests.e2e.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

SUBMIT_AND_APPROVE = (
    "from django.contrib.auth.models import User; "
    "from payments.models import DebtorAccount; "
    "from payments.services import payment_submit, payment_approve; "
    "alice = User.objects.get(username='alice'); "
    "bob = User.objects.get(username='bob'); "
    "account = DebtorAccount.objects.get(organisation__slug='acme', currency='EUR'); "
    "[payment_approve(payment_id=payment_submit(actor=alice, "
    "debtor_account_id=account.id, amount=100 + n, currency='EUR', "
    "creditor_name='C', creditor_iban='DE89370400440532013000').id, actor=bob) "
    "for n in range({count})]"
)


@pytest.fixture
def proxied_relay(tmp_path):
    if not rabbitmq_reachable():
        service_missing("needs RabbitMQ at 127.0.0.1:5672 for the relay outage test")
    proxy = TcpProxy(("127.0.0.1", 5672))
    stack = stack_up(
        tmp_path,
        only={"relay"},
        overrides={"RELAY_BACKOFF_MAX_SECONDS": "1"},
        broker_port=proxy.port,
    )
    try:
        yield stack, proxy
    finally:
        proxy.close()
        stack_down(stack)


def _unpublished(stack) -> int:
    return stack.sql(
        "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
    )[0][0]


def _wait(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(message)


def _ledger_queue_events(stack) -> list[dict]:
    """Drain the ledger's partition queues straight from RabbitMQ, in queue order."""
    return drained(
        f"{RABBIT}:5672/{stack.name}",
        [f"ledger.p{partition}" for partition in range(4)],
    )


def test_relay_survives_a_broker_outage_and_drains_in_order(proxied_relay):
    stack, proxy = proxied_relay
    relay = stack.running["relay"]

    # given: the relay has published the first payments
    stack.manage("shell", "-c", SUBMIT_AND_APPROVE.format(count=2))
    _wait(lambda: _unpublished(stack) == 0, 30, "relay did not publish")

    # when: the broker becomes unreachable and more payments are approved
    proxy.cut()
    stack.manage("shell", "-c", SUBMIT_AND_APPROVE.format(count=5))
    _wait(
        lambda: "broker unavailable" in stack.logs("relay"),
        30,
        "relay did not report the outage:\n" + stack.logs("relay"),
    )
    time.sleep(2)

    # then: the relay is still up and the events wait in the outbox
    assert relay.process.poll() is None
    assert _unpublished(stack) == 10

    # when: the broker comes back
    proxy.restore()
    _wait(lambda: _unpublished(stack) == 0, 60, "no drain:\n" + stack.logs("relay"))

    # then: every event reached the ledger's queue, in the outbox's order
    outbox_order = [
        str(event_id)
        for (event_id,) in stack.sql(
            "SELECT event_id FROM events_outboxmessage ORDER BY id"
        )
    ]
    queued = [envelope["id"] for envelope in _ledger_queue_events(stack)]
    assert queued == outbox_order

    # and: SIGTERM lets the relay finish and exit cleanly
    relay.process.send_signal(signal.SIGTERM)
    assert relay.process.wait(timeout=20) == 0
