"""The Celery floor at the pipeline's pace: no-op tasks one at a time, paced.

The other Celery floors run at saturation, where a worker pays its wake-up,
its poll and its timers once for many tasks. At the rate the pipeline runs
(the latency phase's 50 approvals/s) each consumer is woken for one or two
messages at a time and pays them for each. Here a no-op worker run like a
consumer (solo pool, a burst's prefetch, late acks, a queue of the stack's
type) is sent one task at a time at that rate; the worker's and RabbitMQ's
CPU per task are read from /proc by the run's meter, as every other CPU figure.

RabbitMQ's figures are above its idle rate, measured in idle seconds between
the paced ones. Its cost per task is taken twice: publish and delivery, and
the publish alone (to a queue of the same type nobody consumes). The stack
publishes an event once for all the queues it reaches, so an approval pays
one publish per event and one delivery per consumer (bench/summary.py).
"""

import os
import sys
import time

from bench.floors import NoopWorker, _amqp_connect, worker_answering
from bench.meter import CLIENT, OTHERS

QUEUE = "bench.noop.paced"
UNCONSUMED = "bench.noop.paced.unconsumed"
WORKER = "celery no-op worker, paced"
RABBITMQ = "rabbitmq"  # the meter's group for the whole server (procfs.server_groups)
# After its first task the worker still settles (its consumer's first
# prefetch, its timers' first ticks); that is no task's cost.
SETTLE_S = 1.0


def _sleep_until(moment: float) -> None:
    delay = moment - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def _cpu_over(meter, wait, into: dict) -> None:
    """Add the CPU seconds per group used while `wait()` runs to `into`."""
    before = meter.snapshot()
    wait()
    for group, used in meter.cpu_between(before, meter.snapshot()).items():
        into[group] = into.get(group, 0.0) + used


def _paced_send(app, queue, tasks: int, rate: float, consumed: bool) -> None:
    """Task i at start + i/rate; return once the window of `tasks` whole
    intervals is over (and, on a consumed queue, the last task is done), so the
    worker's idle time after the last task counts as after every other."""
    noop = app.tasks["bench.noop"]
    start = time.perf_counter()
    for index in range(tasks):
        _sleep_until(start + index / rate)
        wait = consumed and index == tasks - 1
        sent = noop.apply_async(args=(index,), queue=queue, ignore_result=not wait)
    if consumed:
        sent.get(timeout=60)
    _sleep_until(start + tasks / rate)


def paced_run(app, queues: tuple, tasks: int, rate: float, meter) -> dict:
    """`tasks` tasks paced at `rate` to the worker's queue, as many to a queue
    nobody consumes, and as long idle, alternating in one-second segments.

    The worker's figure keeps its idle time: each consumer has a worker of its
    own, which pays it. RabbitMQ is one server for all of them, and it is busy
    between messages too (its own timers; every vhost's clients, other users'
    included): its figures are what it used above its rate in the idle
    seconds, so that multiplying them by an approval's deliveries does not
    count the server's idle time once per delivery. Alternating follows a
    background load that changes while the floor runs.
    """
    consumed, unconsumed = queues
    idle: dict = {}
    busy: dict = {}
    published: dict = {}
    segment = max(1, round(rate))
    for offset in range(0, tasks, segment):
        n = min(segment, tasks - offset)
        _cpu_over(meter, lambda n=n: time.sleep(n / rate), idle)
        _cpu_over(
            meter, lambda n=n: _paced_send(app, unconsumed, n, rate, False), published
        )
        _cpu_over(meter, lambda n=n: _paced_send(app, consumed, n, rate, True), busy)
    rabbit_idle = idle[RABBITMQ] / idle["_wall"] if RABBITMQ in idle else None

    def per_task(used: float | None) -> float | None:
        return used * 1000 / tasks if used is not None else None

    def rabbit_above_idle(window: dict) -> float | None:
        if rabbit_idle is None:
            return None
        return per_task(window[RABBITMQ] - rabbit_idle * window["_wall"])

    both, publish = rabbit_above_idle(busy), rabbit_above_idle(published)
    return {
        "tasks": tasks,
        "rate": rate,
        "elapsed_s": busy["_wall"],
        "worker_cpu_ms_per_task": per_task(busy.get(WORKER)),
        "worker_idle_cpu_ms_per_s": (
            idle[WORKER] * 1000 / idle["_wall"] if WORKER in idle else None
        ),
        "rabbitmq_cpu_ms_per_task": both,
        "rabbitmq_publish_cpu_ms_per_task": publish,
        "rabbitmq_delivery_cpu_ms_per_task": (
            both - publish if both is not None and publish is not None else None
        ),
        "rabbitmq_cpu_ms_per_task_gross": per_task(busy.get(RABBITMQ)),
        "rabbitmq_idle_cpu_ms_per_s": (
            rabbit_idle * 1000 if rabbit_idle is not None else None
        ),
        "client_cpu_ms_per_task": per_task(busy.get(CLIENT)),
        "other_processes_share": busy[OTHERS] / busy["_wall"] / (os.cpu_count() or 1),
    }


def celery_noop_paced(
    app, broker_url: str, vhost: str, tasks: int, rate: float, queue_type: str,
    prefetch: int, meter, repeats: int = 1,
) -> list[dict]:  # fmt: skip
    """One worker started once; `repeats` paced runs of `tasks` each on it."""
    from bench.noop_app import noop_queue

    conn = _amqp_connect(vhost)
    try:
        conn.channel().queue_declare(
            UNCONSUMED, durable=True, auto_delete=False,
            arguments={"x-queue-type": queue_type},
        )  # fmt: skip
    finally:
        conn.close()
    queues = (noop_queue(QUEUE, queue_type), noop_queue(UNCONSUMED, queue_type))
    env = {"BENCH_NOOP_QUEUE_TYPE": queue_type, "BENCH_NOOP_PREFETCH": str(prefetch)}
    worker = NoopWorker(broker_url, QUEUE, ("--pool", "solo"), env)
    meter.track(WORKER, worker.pid)
    try:
        worker_answering(app.tasks["bench.noop"], queues[0])
        time.sleep(SETTLE_S)
        runs = [paced_run(app, queues, tasks, rate, meter) for _ in range(repeats)]
    except Exception:
        print(worker.output(), file=sys.stderr)
        raise
    finally:
        worker.stop()
        meter.groups.pop(WORKER, None)
        conn = _amqp_connect(vhost)
        try:
            channel = conn.channel()
            for name in (QUEUE, UNCONSUMED):
                channel.queue_delete(name)
        finally:
            conn.close()
    return [{**run, "prefetch": prefetch} for run in runs]
