"""The paced Celery floor: a consumer-like no-op worker sent one task at a time."""

import amqp
import pytest

from bench.floors import _amqp_connect
from bench.meter import Meter
from bench.noop_paced import QUEUE, RABBITMQ, UNCONSUMED, celery_noop_paced
from bench.procfs import server_groups
from tests.bench.conftest import RABBITMQ as BROKER
from tests.conftest import service_missing


def test_a_paced_worker_costs_cpu_per_task_and_is_sent_no_faster_than_the_rate(
    rabbitmq_vhost,
):
    # given: the meter finds the RabbitMQ server's processes, as in a run
    from bench.noop_app import app

    url = f"{BROKER}/{rabbitmq_vhost}"
    app.conf.broker_url = url
    meter = Meter()
    groups = server_groups("unused")
    if RABBITMQ not in groups:
        service_missing("needs RabbitMQ's processes on this machine (user rabbitmq)")
    meter.track(RABBITMQ, groups[RABBITMQ])

    # when: 60 tasks at 50/s, on a quorum queue, a burst's prefetch
    [floor] = celery_noop_paced(app, url, rabbitmq_vhost, 60, 50.0, "quorum", 50, meter)

    # then: paced (60 tasks take 1.2 s at least), and each cost CPU
    assert floor["tasks"] == 60
    assert floor["elapsed_s"] >= 60 / 50.0
    assert floor["worker_cpu_ms_per_task"] > 0
    assert floor["rabbitmq_cpu_ms_per_task_gross"] > 0
    # above the server's idle rate: other users of the broker make these noisy
    for figure in ("cpu", "publish_cpu", "delivery_cpu"):
        assert floor[f"rabbitmq_{figure}_ms_per_task"] is not None
    assert floor["rabbitmq_idle_cpu_ms_per_s"] >= 0
    assert floor["prefetch"] == 50
    # and the worker is no longer metered, its queues gone
    assert "celery no-op worker, paced" not in meter.groups
    conn = _amqp_connect(rabbitmq_vhost)
    try:
        for name in (QUEUE, UNCONSUMED):
            with pytest.raises(amqp.exceptions.NotFound):
                conn.channel().queue_declare(name, passive=True)
    finally:
        conn.close()
