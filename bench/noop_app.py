"""A tiny Celery app with one no-op task: the floor of a Celery round trip.

Configured like the consumers' apps (events/worker.py): JSON only, late acks,
prefetch 1, one prefork pool process. The worker runs as
`celery -A bench.noop_app worker` with BENCH_BROKER_URL pointing at the
benchmark's private RabbitMQ virtual host.
"""

import os

from celery import Celery

QUEUE = "bench.noop"

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
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="bench.noop")
def noop(index: int) -> int:
    return index
