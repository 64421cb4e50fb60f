"""python manage.py demo: the whole app in embedded mode, from the compose process list.

SQLite and kombu's filesystem broker stand in for PostgreSQL and RabbitMQ; the
web app, the relay and one worker per consumer run as child processes, exactly
the commands docker-compose.yml lists. Ctrl-C stops them all.
"""

import json
import os
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from launcher.compose import compose_services, metrics_ports
from launcher.local import metrics_variables
from launcher.runner import service_start, services_stop


class Command(BaseCommand):
    help = "Run web, relay and consumers on SQLite and a serverless broker (demo)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, host, port, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "Run with DEMO_MODE=1 (the README's run command sets it)."
            )
        variables = {
            # Tracing as this shell asks (off by default); readable logs unless
            # it asks for JSON. See docs/operations.md#follow-one-payment.
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318",
            **{k: v for k, v in os.environ.items() if k.startswith("OTEL_")},
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "plain"),
            "WEB_PORT": str(port),
            "WEB_HOST": host,
            "DEMO_MODE": "1",
            **metrics_variables(settings.VAR_DIR),
        }
        overrides = {
            "DATABASE_URL": None,  # the SQLite default
            "CELERY_BROKER_URL": "filesystem://",
            "DEMO_MODE": "1",
            "DJANGO_SECRET_KEY": None,  # a per-checkout key kept in var/
            "ALLOWED_HOSTS": f"{host},localhost,127.0.0.1",
        }
        services = compose_services(variables)
        for job in (s for s in services if s.one_shot):
            running = service_start(job, overrides)
            if running.process.wait() != 0:
                raise CommandError(f"{job.name} failed; see its output above.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        started = [service_start(s, overrides) for s in services if not s.one_shot]
        time.sleep(1.5)
        ports = metrics_ports(services)
        # Where each process's /metrics and /healthz are: for Prometheus, and
        # for the tests that scrape the demo.
        (settings.VAR_DIR / "metrics-ports.json").write_text(json.dumps(ports))
        self.stdout.write(
            f"\n  Payments demo running: http://{host}:{port}/\n"
            f"  API docs: http://{host}:{port}/api/v1/docs\n"
            "  Users: alice (maker), bob (approver), carol (both), gina (globex); "
            "password demo-password\n"
            f"  Metrics: http://{host}:{port}/metrics; relay and workers on "
            + ", ".join(f"{name} :{p}" for name, p in ports.items())
            + " (/metrics, /healthz)\n  Ctrl-C stops everything.\n\n"
        )
        try:
            while not stop.is_set():
                for running in started:
                    if running.process.poll() is not None:
                        self.stderr.write(f"{running.service.name} exited; stopping.")
                        stop.set()
                stop.wait(0.5)
        finally:
            services_stop(started)
