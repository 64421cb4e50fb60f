"""A worker's /metrics and /healthz (events/metrics_server.py), as a Celery bootstep.

The heartbeat rides on the consumer's own timer, which the solo pool runs in
the same loop as the tasks: a worker whose loop is stuck stops beating, and
its /healthz turns 503. The port is served once per process; the consumer
step restarts after a lost broker connection, the server stays.
"""

from celery import bootsteps

from events.metrics_collectors import ConsumerCollector
from events.metrics_server import heartbeat_beat, metrics_serve

HEARTBEAT_SECONDS = 1.0


class WorkerMetrics(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        self.beat = None

    def start(self, parent):
        name = parent.app.consumer_name
        metrics_serve(f"worker {name}", collectors=[ConsumerCollector(name)])
        heartbeat_beat()
        self.beat = parent.timer.call_repeatedly(
            HEARTBEAT_SECONDS, heartbeat_beat, priority=5
        )

    def stop(self, parent):
        if self.beat is not None:
            self.beat.cancel()
            self.beat = None
