"""The Celery floor the consumer drain is measured against: no-op workers side by side.

The consumer drain starts every consumer's worker at once on a full backlog,
so they share the machine's cores. Its floor is the same: as many no-op
workers as the stack has consumers, each on its own queue of the stack's
type, run as the consumers run (solo pool, a burst's prefetch, late acks),
started at once on a full backlog. What each drains per second while all of
them are busy is the most a consumer can drain on this machine with Celery
delivering its events, before any work is done.
"""

import time

from bench.floors import NoopWorker, _amqp_connect

QUEUE = "bench.noop.side{}"


def _depths(channel, queues: list[str]) -> list[int]:
    return [channel.queue_declare(q, passive=True).message_count for q in queues]


def _backlog_publish(app, queues: list[str], queue_type: str, tasks: int) -> None:
    from bench.noop_app import noop_queue

    noop = app.tasks["bench.noop"]
    with app.producer_or_acquire() as producer:
        for name in queues:
            queue = noop_queue(name, queue_type)
            for index in range(tasks):
                noop.apply_async(
                    args=(index,), queue=queue, ignore_result=True, producer=producer
                )


def _window_rates(samples: list[tuple[float, list[int]]], full: int) -> list[float]:
    """Each queue's rate while every worker was busy: from the first sample in
    which all had started to the first in which one was nearly drained."""
    start = next(
        (i for i, (_, d) in enumerate(samples) if all(x < full for x in d)), None
    )
    end = next(
        (i for i, (_, d) in enumerate(samples) if min(d) <= full // 10),
        len(samples) - 1,
    )
    if start is None or end <= start:
        raise RuntimeError(f"no window with every no-op worker busy: {samples}")
    (t0, d0), (t1, d1) = samples[start], samples[end]
    return [(a - b) / (t1 - t0) for a, b in zip(d0, d1, strict=True)]


def celery_noop_side_by_side(
    app, broker_url: str, vhost: str, workers: int, tasks: int, queue_type: str,
    prefetch: int, meter,
) -> dict:  # fmt: skip
    """Tasks/s of each of `workers` no-op workers draining their queues at once."""
    queues = [QUEUE.format(n) for n in range(workers)]
    conn = _amqp_connect(vhost)
    try:
        channel = conn.channel()
        for name in queues:
            channel.queue_declare(
                name, durable=True, auto_delete=False,
                arguments={"x-queue-type": queue_type},
            )  # fmt: skip
            channel.queue_purge(name)
        _backlog_publish(app, queues, queue_type, tasks)
        env = {
            "BENCH_NOOP_QUEUE_TYPE": queue_type,
            "BENCH_NOOP_PREFETCH": str(prefetch),
        }
        running = [
            NoopWorker(broker_url, name, ("--pool", "solo"), env) for name in queues
        ]
        for n, worker in enumerate(running):
            meter.track(f"celery no-op side by side {n}", worker.pid)
        samples = []
        try:
            deadline = time.monotonic() + 120 + tasks / 10
            while True:
                samples.append((time.monotonic(), _depths(channel, queues)))
                if max(samples[-1][1]) == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            meter.sample_rss()
        finally:
            for n, worker in enumerate(running):
                worker.stop()
                meter.groups.pop(f"celery no-op side by side {n}", None)
        rates = _window_rates(samples, tasks)
        for name in queues:
            channel.queue_delete(name)
    finally:
        conn.close()
    return {
        "workers": workers,
        "tasks_per_s_min": min(rates),
        "tasks_per_s_median": sorted(rates)[len(rates) // 2],
        "tasks_per_s_total": sum(rates),
        # The figure to compare a consumer with: how fairly the scheduler shares
        # the cores moves each worker's rate, not the machine's total.
        "tasks_per_s_mean": sum(rates) / workers,
    }
