"""The relay's pause switch: while paused, committed events wait in the outbox."""

import time

import pytest

from events.models import OutboxMessage, RelayState
from events.publishers import KombuPublisher
from events.relay_switch import relay_pause_set
from tests.events.conftest import outbox_event
from tests.events.test_relay_process import all_published, eventually, running_relay

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_paused_relay_holds_events_until_resumed(broker, settings, acme, alice):
    # given: a paused relay
    settings.RELAY_POLL_SECONDS = 0.05
    relay_pause_set(paused=True)
    with running_relay(publisher=KombuPublisher("filesystem://")):
        # when: events commit while it is paused
        outbox_event(organisation=acme, submitted_by=alice)
        outbox_event(organisation=acme, submitted_by=alice)
        eventually(
            lambda: RelayState.objects.filter(heartbeat_at__isnull=False).exists(),
            what="the relay's heartbeat",
        )
        time.sleep(0.3)  # several cycles of the paused loop

        # then: nothing is published
        assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 2

        # when: it is resumed
        relay_pause_set(paused=False)

        # then: the outbox drains
        eventually(all_published, what="the resumed relay to publish")
    assert RelayState.objects.get().leader
