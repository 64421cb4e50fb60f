"""A worker's or the relay's beat writes its heartbeat and reads its switches
in one statement (events/beats.py)."""

import pytest
from django.utils import timezone

from events.beats import consumer_beat, relay_beat
from events.models import ConsumerState, RelayState
from events.relay_switch import relay_pause_set

pytestmark = pytest.mark.django_db


def test_the_first_beat_makes_the_consumers_row():
    before = timezone.now()

    state = consumer_beat("ledger")

    stored = ConsumerState.objects.get(consumer="ledger")
    assert (state.pk, state.paused, state.reads_up_to) == (stored.pk, False, {})
    assert stored.heartbeat_at >= before


def test_a_beat_is_one_statement_that_reads_the_switches_back(
    django_assert_num_queries,
):
    # given: an operator paused the consumer and capped a version it reads
    row = ConsumerState.objects.create(
        consumer="ledger", paused=True, reads_up_to={"PaymentApproved": 1}
    )
    before = timezone.now()

    # when
    with django_assert_num_queries(1):
        state = consumer_beat("ledger")

    # then
    assert (state.pk, state.paused, state.reads_up_to) == (
        row.pk,
        True,
        {"PaymentApproved": 1},
    )
    row.refresh_from_db()
    assert row.heartbeat_at >= before
    assert (row.paused, row.reads_up_to) == (True, {"PaymentApproved": 1})


def test_each_consumer_beats_its_own_row():
    ConsumerState.objects.create(consumer="ledger", paused=True)

    consumer_beat("notifications")

    assert ConsumerState.objects.get(consumer="ledger").heartbeat_at is None
    assert ConsumerState.objects.get(consumer="notifications").paused is False


def test_the_relays_first_beat_makes_its_row():
    assert relay_beat("host:1") is False

    state = RelayState.objects.get()
    assert (state.pk, state.leader, state.paused) == (1, "host:1", False)
    assert state.heartbeat_at is not None


def test_the_relays_beat_is_one_statement_that_reads_its_switch(
    django_assert_num_queries,
):
    relay_pause_set(paused=True)
    before = timezone.now()

    with django_assert_num_queries(1):
        assert relay_beat("host:2") is True

    state = RelayState.objects.get()
    assert (state.leader, state.paused) == ("host:2", True)
    assert state.heartbeat_at >= before
