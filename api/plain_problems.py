"""Problem details answered outside DRF: an unknown URL, a crash, a body too large.

Free of DRF imports, so the body-size middleware can use it before DRF's
settings (which name api.problems' renderer) are loaded.
"""

import logging

from django.db import IntegrityError
from django.http import JsonResponse

from api.errors import ConcurrentChange, PayloadTooLarge, ServiceUnavailable
from events.db_errors import is_unavailable

logger = logging.getLogger("api.problems")

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"


def plain_problem(
    status_code: int, code: str, title: str, detail: str, headers: dict | None = None
):
    return JsonResponse(
        {
            "type": TYPE_BASE + code,
            "title": title,
            "status": status_code,
            "detail": detail,
            "code": code,
        },
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def database_error_problem(exc: BaseException) -> dict | None:
    """What a database error is answered with, as plain_problem's arguments;
    None for an error that is no client's to retry (a bug: a 500).

    Nothing was written either way: the transaction rolled back whole.
    """
    if isinstance(exc, IntegrityError):
        # Row locks make this rare; when a unique constraint does catch a race,
        # the loser may simply retry.
        logger.warning("integrity error answered as 409: %s", exc)
        error, status_code, headers = ConcurrentChange, 409, None
        detail = "Another request changed this at the same time; retry."
    elif is_unavailable(exc):
        # The transaction died with the connection, or a failover left us on
        # a read-only server: a 503 tells the client to retry, where a 500
        # would say "our bug". See events/db_errors.py.
        logger.warning("database unavailable, answered 503: %s", exc)
        error, status_code, headers = ServiceUnavailable, 503, {"Retry-After": "1"}
        detail = "The database is unavailable; retry in a moment."
    else:
        return None
    return {
        "status_code": status_code,
        "code": error.code,
        "title": error.title,
        "detail": detail,
        "headers": headers,
    }


def payload_too_large_view(request, limit: int):
    return plain_problem(
        413,
        PayloadTooLarge.code,
        PayloadTooLarge.title,
        f"Send at most {limit} bytes; this body has {request.META['CONTENT_LENGTH']}.",
    )
