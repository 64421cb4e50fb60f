"""The relay's and each worker's own HTTP port: /metrics for Prometheus, /healthz
for the orchestrator.

Both are single processes (the relay; a Celery worker on the solo pool), so
their metrics live in the process and are served from a daemon thread on
METRICS_PORT; 0 or unset serves nothing, so tests and one-off commands never
bind a port unasked. /healthz answers 200 while the process's main loop has
ticked (heartbeat_beat) within LIVENESS_STALE_SECONDS, 503 once it has not: a
loop that is wedged, not one that is merely idle. The web app serves its
/metrics itself (api/metrics.py). See
docs/operations.md#liveness-of-the-relay-and-the-workers.
"""

import json
import logging
import os
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.db import close_old_connections
from prometheus_client import REGISTRY, make_wsgi_app

logger = logging.getLogger("events.metrics")

_last_beat = time.monotonic()
_served: dict[str, int] = {}


def heartbeat_beat() -> None:
    """Say the main loop went round: the relay's loop, the worker's timer."""
    global _last_beat
    _last_beat = time.monotonic()


def liveness_stale_seconds() -> float:
    # Longer than the relay's longest backoff (RELAY_BACKOFF_MAX_SECONDS, 30 s)
    # and a publish's confirm timeout: waiting out an outage is being alive.
    return float(os.environ.get("LIVENESS_STALE_SECONDS", "60"))


def liveness() -> tuple[bool, float]:
    """Return whether the loop ticked recently enough, and how long ago it did."""
    age = time.monotonic() - _last_beat
    return age <= liveness_stale_seconds(), age


def metrics_app(registry=REGISTRY):
    """The WSGI app of the port: /healthz is liveness, any other path metrics."""
    metrics = make_wsgi_app(registry)

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/healthz":
            # The collectors query on this thread's own connection: drop it
            # if the database closed it or it outlived CONN_MAX_AGE.
            close_old_connections()
            return metrics(environ, start_response)
        alive, age = liveness()
        body = json.dumps(
            {"status": "ok" if alive else "stale", "last_tick_seconds": round(age, 1)}
        ).encode()
        start_response(
            "200 OK" if alive else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
        )
        return [body]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass  # a scrape every few seconds is not worth a log line


def metrics_serve(process: str, collectors=()) -> int | None:
    """Serve /metrics and /healthz on METRICS_PORT; return the port, or None.

    `collectors` read at scrape time (events/metrics_collectors.py); they are
    registered only when a port is served, so a process that serves none pays
    nothing. Serving twice in one process (a restarted consumer) is a no-op.
    """
    port = int(os.environ.get("METRICS_PORT") or 0)
    if not port:
        return None
    if process in _served:
        return _served[process]
    for collector in collectors:
        REGISTRY.register(collector)
    host = os.environ.get("METRICS_HOST", "0.0.0.0")  # noqa: S104 - a container's port
    # One request at a time, on one thread: a scrape's database connection
    # is that thread's, reused, never one left behind per request.
    try:
        server = make_server(host, port, metrics_app(), handler_class=_QuietHandler)
    except OSError as exc:
        # Moving the events matters more than being watched: a port already
        # taken (a second copy on one host) costs the metrics, not the process.
        logger.error("%s cannot serve /metrics on port %d: %s", process, port, exc)
        return None
    threading.Thread(
        target=server.serve_forever, name=f"{process}-metrics", daemon=True
    ).start()
    _served[process] = port
    logger.info("%s serves /metrics and /healthz on port %d", process, port)
    return port
