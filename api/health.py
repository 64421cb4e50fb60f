"""Health endpoints for orchestrators: is the process alive, is it ready for work.

Plain Django views, outside the API's authentication and throttling: a probe
carries no credentials and may call every few seconds. They say which
dependency is missing, never where it is (no host names or URLs): the answers
are public.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

BROKER_TIMEOUT_SECONDS = 2


@require_safe
@never_cache
def healthz(request):
    """The process is up and answering; it checks nothing else."""
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request):
    """Ready when the database answers, its migrations are applied and the
    broker accepts a connection; 503 naming what is not, otherwise."""
    checks = {
        "database": _database(),
        "migrations": _migrations(),
        "broker": _broker(),
    }
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def _database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"unavailable ({exc.__class__.__name__})"
    return "ok"


def _migrations() -> str:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"unknown ({exc.__class__.__name__})"
    return "ok" if not plan else f"{len(plan)} not applied"


def _broker() -> str:
    connection = Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"unreachable ({exc.__class__.__name__})"
    finally:
        connection.release()
    return "ok"
