"""Run the docker-compose.yml process list on the local PostgreSQL and RabbitMQ.

Each run gets its own database and RabbitMQ virtual host, so it cannot disturb
(or be disturbed by) anything else on the machine.
"""

import os
import secrets
import socket
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field

import psycopg
import requests

from launcher.compose import compose_services, metrics_port_variables, metrics_ports
from launcher.rabbitmqctl import vhost_create, vhost_delete
from launcher.runner import Running, service_start, services_stop

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
RABBIT = "amqp://guest:guest@127.0.0.1"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def metrics_variables(var_dir) -> dict[str, str]:
    """Compose variables for processes sharing one host: a free metrics port
    each, bound to loopback, and web's multiprocess folder in this run's var/."""
    names = metrics_port_variables()
    ports: set[int] = set()
    while len(ports) < len(names):  # the OS may hand out a port twice
        ports.add(free_port())
    return {
        "METRICS_HOST": "127.0.0.1",
        "WEB_METRICS_DIR": str(var_dir / "web-metrics"),
        **{name: str(port) for name, port in zip(names, ports, strict=True)},
    }


def rabbitmq_reachable() -> bool:
    try:
        with closing(socket.create_connection(("127.0.0.1", 5672), timeout=2)):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    """The running application services and how to reach their database and API."""

    name: str
    port: int
    overrides: dict
    services: dict = field(default_factory=dict)
    running: dict[str, Running] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Each service's /metrics; its /healthz is beside it."""
        urls = {
            name: f"http://127.0.0.1:{port}/metrics"
            for name, port in metrics_ports(self.services.values()).items()
        }
        return {"web": self.base_url + "/metrics", **urls}

    def sql(self, query: str, params=None) -> list[tuple]:
        with psycopg.connect(**PG, dbname=self.name, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def start(self, name: str, alias: str | None = None) -> Running:
        """Start a service (again); `alias` runs a second copy beside the first."""
        key = alias or name
        service = self.services[name]
        overrides = self.overrides
        if alias and int(service.environment.get("METRICS_PORT") or 0):
            # A second copy on this host needs a metrics port of its own.
            overrides = {**overrides, "METRICS_PORT": str(free_port())}
        self.running[key] = service_start(service, overrides, False)
        return self.running[key]

    def manage(self, *args: str) -> str:
        """Run a management command with the stack's environment; return its output."""
        job = self.services["migrate"]
        command = type(job)(
            name="manage", command=["python", "manage.py", *args],
            environment=job.environment, one_shot=True,
        )  # fmt: skip
        running = service_start(command, self.overrides, False)
        if running.process.wait(timeout=120) != 0:
            raise RuntimeError("".join(running.output))
        time.sleep(0.1)  # let the pump thread drain the pipe
        return "".join(running.output)

    def wait_http(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(self.base_url + "/api/v1/problems/not-found", timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise TimeoutError("web did not answer; output:\n" + self.logs("web"))

    def logs(self, name: str) -> str:
        running = self.running.get(name)
        return "".join(running.output[-80:]) if running else ""


def stack_up(
    tmp_path,
    only: set[str] | None = None,
    overrides: dict | None = None,
    broker_port: int = 5672,
) -> Stack:
    """Create a private database and vhost, migrate, and start the services.

    `only` limits which long-running services start; `overrides` adds to the
    environment; `broker_port` lets the services reach RabbitMQ through a proxy.
    """
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    vhost_create(name)
    port = free_port()
    variables = {
        "WEB_PORT": str(port),
        "WEB_HOST": "127.0.0.1",
        "DEMO_MODE": "1",
        **metrics_variables(tmp_path / "var"),
        # The tests read these logs; JSON when the run asks for it.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "plain"),
    }
    stack = Stack(
        name=name,
        port=port,
        overrides={
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
            "CELERY_BROKER_URL": f"{RABBIT}:{broker_port}/{name}",
            "VAR_DIR": str(tmp_path / "var"),
            # The e2e stacks sign in as the demo users over plain HTTP on
            # 127.0.0.1: demo mode, with a fresh key per run (the compose
            # file's published default is refused outside demo mode anyway).
            "DEMO_MODE": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TEST_DB_SUFFIX": None,
            "CONSUMER_RETRY_BACKOFF": "0.2",
            **(overrides or {}),
        },
    )
    stack.services = {s.name: s for s in compose_services(variables)}
    migrate = stack.start("migrate")
    if migrate.process.wait(timeout=180) != 0:
        raise RuntimeError("migrate failed:\n" + stack.logs("migrate"))
    for service in stack.services.values():
        if not service.one_shot and (only is None or service.name in only):
            stack.start(service.name)
    if "web" in stack.running:
        stack.wait_http()
    return stack


def stack_down(stack: Stack) -> None:
    services_stop(list(stack.running.values()))
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{stack.name}" WITH (FORCE)')
    # A leftover vhost is harmless; the next run picks a new name.
    vhost_delete(stack.name)
