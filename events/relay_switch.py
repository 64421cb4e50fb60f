"""The relay's pause switch and heartbeat, read by the relay once per cycle."""

import os
import socket
import time
from datetime import datetime, timedelta

from django.utils import timezone

from events.beats import relay_beat
from events.models import OutboxMessage, RelayState

HEARTBEAT_SECONDS = 1.0


def relay_pause_set(*, paused: bool) -> RelayState:
    """Pause or resume publishing; committed outbox rows simply wait meanwhile."""
    state, _ = RelayState.objects.update_or_create(pk=1, defaults={"paused": paused})
    return state


def outbox_backlog() -> tuple[int, datetime | None]:
    """Count the rows the relay still has to publish; return that and the oldest
    one's time.

    Both read the partial index on unpublished rows (outbox_unpublished): the
    relay's /metrics asks on every scrape, the relay pages on every poll. A row
    an operator chose to skip is never published and waits for nobody.
    """
    pending = OutboxMessage.objects.filter(
        published_at__isnull=True, skipped_at__isnull=True
    )
    oldest = pending.order_by("id").values_list("created_at", flat=True).first()
    return (pending.count() if oldest is not None else 0), oldest


def relay_overview() -> dict:
    """The relay's switch, its signs of life and the outbox backlog it faces."""
    state = RelayState.objects.filter(pk=1).first() or RelayState()
    pending, oldest = outbox_backlog()
    beat = state.heartbeat_at
    return {
        "paused": state.paused,
        "running": bool(beat and timezone.now() - beat < timedelta(seconds=10)),
        "leader": state.leader,
        "heartbeat_at": beat,
        "pending": pending,
        "oldest_pending_at": oldest,
    }


class RelaySwitch:
    """What the running relay knows of its switch, read at most twice a second.

    The relay asks every cycle; reading the table every time cost a quarter of
    its busy time under load, and half a second is soon enough for a pause.
    """

    READ_SECONDS = 0.5

    def __init__(self):
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self._last_beat = self._last_read = -HEARTBEAT_SECONDS
        self._paused = False

    def paused(self) -> bool:
        """Return the switch, writing a heartbeat at most once a second."""
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            # The beat reads the switch back: one statement for both.
            self._last_beat = self._last_read = now
            self._paused = relay_beat(self.identity)
        elif now - self._last_read >= self.READ_SECONDS:
            self._last_read = now
            self._paused = RelayState.objects.filter(pk=1, paused=True).exists()
        return self._paused
