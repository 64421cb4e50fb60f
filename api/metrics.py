"""The web app's Prometheus metrics: request durations by route, idempotent replays,
and the /metrics view that serves them.

gunicorn runs several worker processes, each with its own counters; with
PROMETHEUS_MULTIPROC_DIR set (docker-compose.yml's web service) every process
writes its values to files there and /metrics adds them up across processes
(config/gunicorn.py clears the folder at start and a dead child's live
gauges at its exit). Without it (runserver, the tests) the process's own
registry is served. Only aggregate numbers by route name, method, status and
outcome: nothing about a tenant, a user or a payment, so /metrics is served
without authentication, like most exporters, unless WEB_METRICS is off.
See docs/operations.md#metrics-and-alerts.
"""

import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_SECONDS = Histogram(
    "payments_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL route name, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IDEMPOTENCY = Counter(
    "payments_idempotency_requests",
    "POSTs that carried an Idempotency-Key and were not run: replayed (the "
    "first answer again), in_progress (409, the first still runs) or mismatch "
    "(422, the key was used for another request).",
    ["outcome"],
)
UNMATCHED = "unmatched"  # no URL pattern: every unknown path shares one label


def idempotency_observed(outcome: str) -> None:
    IDEMPOTENCY.labels(outcome).inc()


class RequestMetricsMiddleware:
    """Time every request and label it by its route's name, never its path.

    First in MIDDLEWARE, so the time covers the other middleware too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        HTTP_SECONDS.labels(
            match.view_name if match is not None else UNMATCHED,
            request.method if request.method in _METHODS else "other",
            str(response.status_code),
        ).observe(time.perf_counter() - started)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def metrics_registry():
    """All processes' values in multiprocess mode; this process's otherwise."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return registry


@require_safe
@never_cache
def metrics_view(request):
    if not settings.WEB_METRICS:
        raise Http404
    return HttpResponse(
        generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST
    )
