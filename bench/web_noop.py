"""The web's floor: the stack's gunicorn, answering the approve with a no-op.

gunicorn is started from the stack's own `web` service (docker-compose.yml's
command line and environment, read by launcher/compose.py, with the run's
overrides), on a port of its own and with bench.floor_settings: the project's
settings and middleware, but the approve path answered by a view that
authenticates and checks permissions as the API does (the token's read
included) and writes nothing. Driven by the throughput phase's client at its
highest client count, its CPU per request is what gunicorn, Django and DRF
cost an approval before any of the approval's own work.
"""

import http.client
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.http_clients import closed_loop
from bench.meter import CLIENT, OTHERS
from bench.procfs import PG_SERVER
from launcher.compose import Service
from launcher.local import free_port
from launcher.runner import Running, service_start, service_stop

FLOOR_SETTINGS = "bench.floor_settings"
GUNICORN = "web no-op floor (gunicorn)"
# Long enough for PostgreSQL's idle rate to average over its timers' ticks.
IDLE_S = 3.0


@dataclass(frozen=True)
class WebStack:
    """What the web floor takes from the run's stack."""

    service: Service  # the stack's `web`
    overrides: dict  # the stack's environment overrides (database, VAR_DIR, ...)
    token: str  # a demo user's API token in the run's database


def floor_service(web: Service, port: int) -> Service:
    """The web service, bound to 127.0.0.1:`port` instead of the stack's port."""
    command = list(web.command)
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    return replace(web, name="web-noop-floor", command=command)


def floor_status(port: int, token: str | None) -> int:
    """The status of one POST to the floor's approve, with the token or without."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    if token:
        headers["Authorization"] = f"Token {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", f"/api/v1/payments/{uuid.uuid4()}/approve", b"", headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@contextmanager
def web_floor_running(
    web: WebStack, timeout: float = 60
) -> Iterator[tuple[Running, int]]:
    """The floor's gunicorn, answering on the port yielded; stopped afterwards."""
    port = free_port()
    env = {
        **web.overrides,
        "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS,
        # config/gunicorn.py empties this folder at start: not the stack web's.
        "PROMETHEUS_MULTIPROC_DIR": str(Path(web.overrides["VAR_DIR"]) / "web-noop"),
    }
    running = service_start(floor_service(web.service, port), env, False)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if running.process.poll() is not None:
                raise RuntimeError(
                    "the web floor's gunicorn exited:\n" + "".join(running.output)
                )
            try:
                floor_status(port, None)
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield running, port
    finally:
        service_stop(running)


def web_noop_run(port: int, token: str, clients: int, requests: int, meter) -> dict:
    """An idle window, then `requests` approves of random ids by `clients`
    closed-loop clients.

    gunicorn's figure is all it used. PostgreSQL's is what it used above its
    rate in the idle window (its own background work, every database's
    sessions, other users' too), as RabbitMQ's in the paced Celery floor.
    """
    before = meter.snapshot()
    time.sleep(IDLE_S)
    idle = meter.cpu_between(before, meter.snapshot())
    ids = [str(uuid.uuid4()) for _ in range(requests)]
    before = meter.snapshot()
    result = closed_loop("127.0.0.1", port, token, ids, clients)
    cpu = meter.cpu_between(before, meter.snapshot())
    answered = len(result.ok)
    if result.errors or answered != requests:
        raise RuntimeError(
            f"web floor: {answered} of {requests} answered 200; "
            f"errors {result.errors[:3]}"
        )

    def per_request(used: float | None) -> float | None:
        return used * 1000 / answered if used is not None else None

    pg_idle = idle[PG_SERVER] / idle["_wall"] if PG_SERVER in idle else None
    return {
        "clients": clients,
        "requests": answered,
        "requests_per_s": answered / (result.finished_at - result.started_at),
        "gunicorn_cpu_ms_per_request": per_request(cpu.get(GUNICORN)),
        "postgresql_cpu_ms_per_request": per_request(
            cpu[PG_SERVER] - pg_idle * cpu["_wall"] if pg_idle is not None else None
        ),
        "postgresql_cpu_ms_per_request_gross": per_request(cpu.get(PG_SERVER)),
        "postgresql_idle_cpu_ms_per_s": pg_idle * 1000 if pg_idle is not None else None,
        "client_cpu_ms_per_request": per_request(cpu.get(CLIENT)),
        "other_processes_share": cpu[OTHERS] / cpu["_wall"] / (os.cpu_count() or 1),
    }


def web_noop(
    web: WebStack, clients: int, requests: int, meter, repeats: int = 1
) -> list[dict]:
    """The floor's gunicorn started once; `repeats` runs of `requests` each."""
    with web_floor_running(web) as (running, port):
        meter.track(GUNICORN, running.process.pid)
        try:
            # Every worker thread's first request builds what later ones reuse.
            warm = [str(uuid.uuid4()) for _ in range(4 * clients)]
            closed_loop("127.0.0.1", port, web.token, warm, clients)
            return [
                web_noop_run(port, web.token, clients, requests, meter)
                for _ in range(repeats)
            ]
        finally:
            meter.groups.pop(GUNICORN, None)
