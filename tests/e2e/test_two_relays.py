"""Two relays at once: one leads, one stands by; killing the leader loses nothing.

Only the leader publishes, so one partition's events are never reordered; the
standby takes over when the leader's database session ends (SIGKILL).
"""

import time

import pytest

from launcher.local import RABBIT, rabbitmq_reachable, stack_down, stack_up
from launcher.runner import service_kill
from tests.conftest import service_missing
from tests.e2e.queued import drained
from tests.e2e.test_relay_outage import SUBMIT_AND_APPROVE

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


@pytest.fixture
def two_relays(tmp_path):
    if not rabbitmq_reachable():
        service_missing("needs RabbitMQ at 127.0.0.1:5672 for the two-relay test")
    stack = stack_up(tmp_path, only={"relay"})
    stack.start("relay", alias="relay-2")
    try:
        yield stack
    finally:
        stack_down(stack)


def _wait(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(message)


def test_standby_takes_over_without_losing_or_reordering_events(two_relays):
    stack = two_relays

    def leader() -> str:
        for name in ("relay", "relay-2"):
            if "standing by" not in stack.logs(name):
                return name
        raise AssertionError("no leader")

    _wait(
        lambda: any("standing by" in stack.logs(n) for n in ("relay", "relay-2")),
        30,
        "neither relay stood by",
    )
    first = leader()
    standby = "relay-2" if first == "relay" else "relay"

    # given: events published by the leader
    stack.manage("shell", "-c", SUBMIT_AND_APPROVE.format(count=20))

    # when: the leader is killed mid-stream while more payments are approved
    service_kill(stack.running[first])
    stack.manage("shell", "-c", SUBMIT_AND_APPROVE.format(count=20))

    # then: the standby takes over and publishes everything
    _wait(
        lambda: "took over" in stack.logs(standby),
        60,
        "standby did not take over:\n" + stack.logs(standby),
    )
    _wait(
        lambda: (
            stack.sql(
                "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
            )[0][0]
            == 0
        ),
        60,
        "not drained:\n" + stack.logs(standby),
    )

    # and: the ledger's queue holds every event, first copies in outbox order
    # (a crash between confirm and mark may repeat a tail of the batch in flight)
    queued = [
        envelope["id"]
        for envelope in drained(
            f"{RABBIT}:5672/{stack.name}",
            [f"ledger.p{partition}" for partition in range(4)],
        )
    ]
    first_copies = list(dict.fromkeys(queued))
    outbox = [
        str(event_id)
        for (event_id,) in stack.sql(
            "SELECT event_id FROM events_outboxmessage ORDER BY id"
        )
    ]
    assert first_copies == outbox
    assert len(outbox) == 80
