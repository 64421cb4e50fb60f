"""A tiny Celery app with one no-op task: the floor of a Celery round trip.

Configured like the consumers' apps (events/worker.py): JSON only, late acks.
The worker runs as `celery -A bench.noop_app worker` with BENCH_BROKER_URL
pointing at the benchmark's private RabbitMQ virtual host. By default one
prefork pool process with prefetch 1 on Celery's classic queue; the
side-by-side floor (bench/noop_side_by_side.py) runs one worker per queue the
way the consumers run: BENCH_NOOP_QUEUE names its queue, BENCH_NOOP_QUEUE_TYPE
its type, BENCH_NOOP_PREFETCH the burst it is sent.
"""

import os

from celery import Celery
from kombu import Queue

QUEUE = os.environ.get("BENCH_NOOP_QUEUE", "bench.noop")
QUEUE_TYPE = os.environ.get("BENCH_NOOP_QUEUE_TYPE")


def noop_queue(name: str, queue_type: str) -> Queue:
    """A durable queue of this type on the default exchange, as declared here."""
    return Queue(
        name,
        exchange="",
        routing_key=name,
        durable=True,
        queue_arguments={"x-queue-type": queue_type},
    )


app = Celery(
    "bench.noop",
    broker=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1//"),
    backend="rpc://",
)
app.conf.update(
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=int(os.environ.get("BENCH_NOOP_PREFETCH", "1")),
    worker_hijack_root_logger=False,
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
)

if QUEUE_TYPE:
    app.conf.task_queues = [noop_queue(QUEUE, QUEUE_TYPE)]


@app.task(name="bench.noop")
def noop(index: int) -> int:
    return index
