"""The machine's floors, measured in the same run as the pipeline.

- raw PostgreSQL: single-row INSERT + commit per statement, N connections;
- raw AMQP publishing with publisher confirms, in batches and one at a time,
  through py-amqp (kombu's channel) to a topic exchange fanned out to as many
  durable queues, of the same type, as the stack routes a PaymentApproved to
  (`Shape`), so the broker does the relay's work per message;
- a raw relay loop: claim a batch with one UPDATE ... RETURNING, publish it
  with batched confirms, mark it; on a scratch table;
- a no-op Celery task: tasks/s through one prefork worker, and round trips;
  and as many no-op workers as the stack has consumers, run like them, side by
  side on a backlog (bench/noop_side_by_side.py): the consumer drain's floor;
- the paced floors, at the pipeline's pace rather than at saturation: one
  no-op worker run like a consumer, sent one task at a time at the latency
  phase's rate (bench/noop_paced.py), and the web's gunicorn answering the
  approve with a no-op after the API's authentication (bench/web_noop.py).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import amqp
import psycopg

from bench.procfs import self_cpu_seconds

FLOOR_EXCHANGE = "bench.floor"
FLOOR_QUEUE = "bench.floor.q{}"


@dataclass(frozen=True)
class Shape:
    """The floors' queues: the stack's queue type, and how many queues one
    PaymentApproved reaches in the stack (one per consuming service)."""

    queue_type: str = "classic"
    fanout: int = 3

    @property
    def queues(self) -> list[str]:
        return [FLOOR_QUEUE.format(n) for n in range(self.fanout)]


REPO = Path(__file__).resolve().parent.parent


def pg_insert_rate(conninfo: dict, connections: int, seconds: float) -> dict:
    """Rows/s of single-row INSERT + commit, each connection in its own thread."""
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_insert "
            "(id bigserial PRIMARY KEY, payload text NOT NULL)"
        )
    payload = "x" * 1000  # about an outbox envelope's size
    counts = [0] * connections
    ready = threading.Barrier(connections + 1)
    window = {}

    def work(index: int) -> None:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            ready.wait()
            deadline = window["end"]
            while time.perf_counter() < deadline:
                conn.execute(
                    "INSERT INTO bench_floor_insert (payload) VALUES (%s)", (payload,)
                )
                counts[index] += 1

    threads = [
        threading.Thread(target=work, args=(n,), daemon=True)
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    cpu = self_cpu_seconds()
    start = time.perf_counter()
    window["end"] = start + seconds
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    client_cpu = self_cpu_seconds() - cpu
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE bench_floor_insert")
    return {
        "rows_per_s": sum(counts) / elapsed,
        "client_cpu_share": client_cpu / elapsed,
    }


def _amqp_connect(vhost: str) -> amqp.Connection:
    conn = amqp.Connection(
        "127.0.0.1:5672",
        userid="guest",
        password="guest",  # noqa: S106 - the local broker's default user
        virtual_host=vhost,
    )
    conn.connect()
    return conn


def floor_topology_declare(channel, shape: Shape) -> None:
    """A topic exchange with the shape's durable queues bound to everything, so
    the floors publish as the relay does."""
    channel.exchange_declare(FLOOR_EXCHANGE, "topic", durable=True, auto_delete=False)
    arguments = {"x-queue-type": shape.queue_type}
    for name in shape.queues:
        channel.queue_declare(
            name, durable=True, auto_delete=False, arguments=arguments
        )
        channel.queue_bind(name, FLOOR_EXCHANGE, routing_key="#")


def floor_queues_purge(vhost: str, shape: Shape) -> None:
    conn = _amqp_connect(vhost)
    try:
        channel = conn.channel()
        for name in shape.queues:
            channel.queue_purge(name)
    finally:
        conn.close()


class ConfirmingChannel:
    """A py-amqp channel in confirm mode that counts the broker's acks."""

    def __init__(self, conn: amqp.Connection, shape: Shape):
        self.conn = conn
        self.channel = conn.channel()
        floor_topology_declare(self.channel, shape)
        self.channel.confirm_select()
        self.acked = 0
        self.nacked = 0
        self.sent = 0
        self.channel.events["basic_ack"].add(self._ack)
        self.channel.events["basic_nack"].add(self._nack)

    def _ack(self, tag: int, multiple: bool) -> None:
        self.acked = tag if multiple else self.acked + 1

    def _nack(self, tag: int, multiple: bool) -> None:
        self.nacked += 1

    def publish_batch(self, messages: list[tuple[bytes, dict, dict, str]]) -> None:
        for body, headers, properties, key in messages:
            self.channel.basic_publish(
                amqp.Message(body, application_headers=headers, **properties),
                exchange=FLOOR_EXCHANGE,
                routing_key=key,
                mandatory=True,
            )
        self.sent += len(messages)
        while self.acked + self.nacked < self.sent:
            self.conn.drain_events(timeout=10)


def _sample_message() -> tuple[bytes, dict, dict, str]:
    from events.envelope import envelope_build
    from events.messages import task_message

    envelope = envelope_build(
        event_type="PaymentApproved",
        version=1,
        source="/payments",
        subject=str(uuid.uuid4()),
        partition_key=str(uuid.uuid4()),
        sequence=2,
        data={"payment_id": str(uuid.uuid4()), "padding": "x" * 600},
    )
    headers, properties, body = task_message(envelope)
    return body, headers, properties, "payments.PaymentApproved.0"


def amqp_publish_rate(vhost: str, messages: int, batch: int, shape: Shape) -> dict:
    """Messages/s published and confirmed, `batch` messages per confirm wait."""
    sample = _sample_message()
    conn = _amqp_connect(vhost)
    try:
        channel = ConfirmingChannel(conn, shape)
        cpu, start = self_cpu_seconds(), time.perf_counter()
        for offset in range(0, messages, batch):
            channel.publish_batch([sample] * min(batch, messages - offset))
        elapsed = time.perf_counter() - start
        client_cpu = self_cpu_seconds() - cpu
    finally:
        conn.close()
    floor_queues_purge(vhost, shape)
    return {
        "msgs_per_s": messages / elapsed,
        "batch": batch,
        "client_cpu_share": client_cpu / elapsed,
    }


def raw_relay_loop(
    conninfo: dict, vhost: str, rows: int, batch: int, shape: Shape
) -> dict:
    """Claim (one UPDATE ... RETURNING), publish with batched confirms, mark."""
    from events.messages import task_message

    body, _, _, _ = _sample_message()
    envelope = json.loads(body)[0][0]
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_outbox ("
            " id bigserial PRIMARY KEY, envelope jsonb NOT NULL,"
            " routing_key text NOT NULL, claim_token uuid,"
            " published_at timestamptz)"
        )
        conn.execute(
            "CREATE INDEX IF NOT EXISTS bench_floor_outbox_pending "
            "ON bench_floor_outbox (id) WHERE published_at IS NULL"
        )
        conn.execute("TRUNCATE bench_floor_outbox")
        conn.execute(
            "INSERT INTO bench_floor_outbox (envelope, routing_key) "
            "SELECT jsonb_set(%s::jsonb, '{id}', to_jsonb(gen_random_uuid()::text)),"
            " 'payments.PaymentApproved.' || (g %% 4) "
            "FROM generate_series(1, %s) g",
            (json.dumps(envelope), rows),
        )
        conn.execute("ANALYZE bench_floor_outbox")
    amqp_conn = _amqp_connect(vhost)
    marks: list[tuple[float, int]] = []
    try:
        channel = ConfirmingChannel(amqp_conn, shape)
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            cpu, start = self_cpu_seconds(), time.perf_counter()
            while True:
                token = uuid.uuid4()
                claimed = conn.execute(
                    "UPDATE bench_floor_outbox SET claim_token = %s WHERE id IN ("
                    " SELECT id FROM bench_floor_outbox WHERE published_at IS NULL"
                    " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
                    " RETURNING id, envelope, routing_key",
                    (token, batch),
                ).fetchall()
                if not claimed:
                    break
                claimed.sort()
                outgoing = []
                for _, env, key in claimed:
                    headers, properties, payload = task_message(env)
                    outgoing.append((payload, headers, properties, key))
                channel.publish_batch(outgoing)
                conn.execute(
                    "UPDATE bench_floor_outbox SET published_at = now(),"
                    " claim_token = NULL WHERE id = ANY(%s) AND claim_token = %s",
                    ([row[0] for row in claimed], token),
                )
                marks.append((time.perf_counter(), len(claimed)))
            elapsed = time.perf_counter() - start
            client_cpu = self_cpu_seconds() - cpu
            conn.execute("DROP TABLE bench_floor_outbox")
    finally:
        amqp_conn.close()
    floor_queues_purge(vhost, shape)
    # Counted like the relay drain: rows marked after the first mark, over the
    # time between the first and the last mark.
    steady = (
        sum(n for _, n in marks[1:]) / (marks[-1][0] - marks[0][0])
        if len(marks) > 1
        else rows / elapsed
    )
    return {
        "events_per_s": steady,
        "events_per_s_overall": rows / elapsed,
        "batch": batch,
        "client_cpu_share": client_cpu / elapsed,
    }


class NoopWorker:
    """The no-op Celery worker, in its own process group."""

    def __init__(
        self,
        broker_url: str,
        queue: str = "bench.noop",
        pool: tuple[str, ...] = ("--concurrency", "1"),
        env: dict | None = None,
    ):
        env = {
            **os.environ,
            **(env or {}),
            "BENCH_BROKER_URL": broker_url,
            "BENCH_NOOP_QUEUE": queue,
            "PYTHONUNBUFFERED": "1",
        }
        celery = Path(sys.executable).with_name("celery")
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(celery), "-A", "bench.noop_app", "worker", *pool,
                "--loglevel", "WARNING", "--hostname", f"{queue}@%h", "-Q", queue,
            ],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def worker_answering(noop, queue=None, timeout: float = 60) -> None:
    """Return once the no-op worker answers a round trip (it is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            options = {} if queue is None else {"queue": queue}
            noop.apply_async(args=(-1,), **options).get(timeout=5)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise


def celery_noop(app, tasks: int, round_trips: int) -> dict:
    """Tasks/s through the no-op worker, and sequential round-trip latencies."""
    from bench.stats import latency_summary

    noop = app.tasks["bench.noop"]
    worker_answering(noop)
    latencies = []
    for index in range(round_trips):
        start = time.perf_counter()
        noop.apply_async(args=(index,)).get(timeout=30)
        latencies.append((time.perf_counter() - start) * 1000)
    cpu, start = self_cpu_seconds(), time.perf_counter()
    for index in range(tasks - 1):
        noop.apply_async(args=(index,), ignore_result=True)
    noop.apply_async(args=(tasks,)).get(timeout=300)
    elapsed = time.perf_counter() - start
    return {
        "tasks_per_s": tasks / elapsed,
        "round_trip_ms": latency_summary(latencies),
        "client_cpu_share": (self_cpu_seconds() - cpu) / elapsed,
    }


def floors_measure(
    plan, dbname: str, vhost: str, broker_url: str, meter, shape: Shape, web=None
) -> dict:
    """Every floor, `plan.repeats` times each, on the run's own database and vhost.

    `web` (bench.web_noop.WebStack) is the stack's web service and a token to
    drive its floor with; without it that floor is left out.
    """
    from bench.stats import merge_runs

    conninfo = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": dbname}
    pg = {
        str(clients): merge_runs(
            [
                pg_insert_rate(conninfo, clients, plan.pg_seconds)
                for _ in range(plan.repeats)
            ]
        )
        for clients in plan.throughput
    }
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor_insert")
    batched = merge_runs(
        [
            amqp_publish_rate(vhost, plan.amqp_batched, plan.relay_batch, shape)
            for _ in range(plan.repeats)
        ]
    )
    single = merge_runs(
        [
            amqp_publish_rate(vhost, plan.amqp_single, 1, shape)
            for _ in range(plan.repeats)
        ]
    )
    loop = merge_runs(
        [
            raw_relay_loop(conninfo, vhost, plan.relay_backlog, plan.relay_batch, shape)
            for _ in range(plan.repeats)
        ]
    )
    os.environ["BENCH_BROKER_URL"] = broker_url
    from django.conf import settings

    from bench.noop_app import app
    from bench.noop_paced import celery_noop_paced
    from bench.noop_side_by_side import celery_noop_side_by_side
    from bench.web_noop import web_noop

    worker = NoopWorker(broker_url)
    meter.track("celery no-op worker", worker.pid)
    try:
        if worker.process.poll() is not None:
            raise RuntimeError("the no-op worker exited:\n" + worker.output())
        noop = merge_runs(
            [
                celery_noop(app, plan.celery_tasks, plan.celery_round_trips)
                for _ in range(plan.repeats)
            ]
        )
        meter.sample_rss()
    except Exception:
        print(worker.output(), file=sys.stderr)
        raise
    finally:
        worker.stop()
        meter.groups.pop("celery no-op worker", None)
    side_by_side = merge_runs(
        [
            celery_noop_side_by_side(
                app,
                broker_url,
                vhost,
                shape.fanout,
                plan.celery_side_tasks,
                shape.queue_type,
                settings.CONSUMER_BURST_SIZE,
                meter,
            )
            for _ in range(plan.repeats)
        ]
    )
    paced = merge_runs(
        celery_noop_paced(
            app,
            broker_url,
            vhost,
            plan.celery_paced_tasks,
            plan.moderate_rate,
            shape.queue_type,
            settings.CONSUMER_BURST_SIZE,
            meter,
            plan.repeats,
        )
    )
    _floor_topology_delete(vhost, shape)
    floors = {
        "pg_insert_commit": pg,
        "amqp_publish_batched_confirms": batched,
        "amqp_publish_confirm_each": single,
        "raw_relay_loop": loop,
        "celery_noop": noop,
        "celery_noop_side_by_side": side_by_side,
        "celery_noop_paced": paced,
    }
    if web is not None:
        floors["web_noop"] = merge_runs(
            web_noop(
                web, max(plan.throughput), plan.web_noop_requests, meter, plan.repeats
            )
        )
    return floors


def _floor_topology_delete(vhost: str, shape: Shape) -> None:
    conn = _amqp_connect(vhost)
    try:
        channel = conn.channel()
        for name in shape.queues:
            channel.queue_delete(name)
        channel.queue_delete("bench.noop")
        channel.exchange_delete(FLOOR_EXCHANGE)
    finally:
        conn.close()
