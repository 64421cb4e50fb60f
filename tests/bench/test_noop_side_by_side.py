"""The consumer drain's Celery floor: no-op workers side by side on a backlog."""

import amqp
import pytest

from bench.floors import _amqp_connect
from bench.meter import Meter
from bench.noop_side_by_side import QUEUE, _window_rates, celery_noop_side_by_side
from tests.bench.conftest import RABBITMQ


def test_the_rate_is_taken_while_every_worker_was_busy():
    # given: 100 tasks a queue; the second worker starts a sample late, the
    # first is nearly drained at 2.0 s
    samples = [
        (0.0, [100, 100]),
        (0.5, [80, 100]),
        (1.0, [60, 90]),
        (2.0, [10, 50]),
        (2.5, [0, 30]),
    ]

    # when
    rates = _window_rates(samples, full=100)

    # then: from 1.0 s (both started) to 2.0 s (one at 10 %)
    assert rates == [50.0, 40.0]


def test_no_window_with_every_worker_busy_is_an_error_not_a_figure():
    with pytest.raises(RuntimeError, match="no window"):
        _window_rates([(0.0, [100, 100]), (1.0, [0, 100])], full=100)


def test_side_by_side_workers_drain_their_quorum_queues_through_rabbitmq(
    rabbitmq_vhost,
):
    # given
    from bench.noop_app import app

    url = f"{RABBITMQ}/{rabbitmq_vhost}"
    app.conf.broker_url = url

    # when: two workers, 3,000 tasks each, as many as a quick run gives them:
    # with 1,000 a worker that booted a second late on a loaded machine found
    # the other's queue already drained, and no window had both busy
    floor = celery_noop_side_by_side(
        app, url, rabbitmq_vhost, 2, 3000, "quorum", 50, Meter()
    )

    # then: each drained at a positive rate, and its queue is gone
    assert floor["workers"] == 2
    assert 0 < floor["tasks_per_s_min"] <= floor["tasks_per_s_mean"]
    assert floor["tasks_per_s_total"] == pytest.approx(2 * floor["tasks_per_s_mean"])
    conn = _amqp_connect(rabbitmq_vhost)
    try:
        with pytest.raises(amqp.exceptions.NotFound):
            conn.channel().queue_declare(QUEUE.format(0), passive=True)
    finally:
        conn.close()
