"""RFC 9457 problem details: the one place errors become HTTP responses.

Views never build error bodies by hand; services raise DomainError subclasses
(domain/errors.py, each app's errors.py) and DRF raises its own exceptions, and
both end up here.
"""

import logging

from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from api.auth_tokens import TokenExpired
from api.errors import ConcurrentChange, ServiceUnavailable
from api.plain_problems import PROBLEM_CONTENT_TYPE, TYPE_BASE, plain_problem
from domain.errors import DomainError, Invalid
from events.db_errors import is_unavailable

logger = logging.getLogger(__name__)


KIND_STATUS = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "not_found": status.HTTP_404_NOT_FOUND,
    "conflict": status.HTTP_409_CONFLICT,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_media_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "unprocessable": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}

# DRF's own exceptions, each with a stable problem type and title.
DRF_PROBLEMS = {
    exceptions.ParseError: ("malformed-request", "The request body cannot be read"),
    exceptions.ValidationError: ("validation-error", "The request is not valid"),
    exceptions.NotAuthenticated: ("not-authenticated", "Authentication required"),
    # Before its base class: the first match names the problem.
    TokenExpired: ("token-expired", "The token has expired"),
    exceptions.AuthenticationFailed: ("authentication-failed", "Authentication failed"),
    exceptions.PermissionDenied: ("forbidden", "Not allowed"),
    exceptions.NotFound: ("not-found", "Not found"),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not-acceptable", "Cannot produce that media type"),
    exceptions.UnsupportedMediaType: (
        "unsupported-media-type",
        "Send the body as application/json",
    ),
    exceptions.Throttled: ("rate-limited", "Too many requests"),
}


class ProblemJSONRenderer(JSONRenderer):
    media_type = PROBLEM_CONTENT_TYPE


def problem_response(
    *,
    status_code: int,
    code: str,
    title: str,
    detail: str,
    errors: dict | list | None = None,
    headers: dict | None = None,
) -> Response:
    body = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return Response(
        body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


def _flatten_detail(detail) -> str:
    if isinstance(detail, list | tuple):
        return " ".join(_flatten_detail(d) for d in detail)
    if isinstance(detail, dict):
        return "One or more fields are not valid; see errors."
    return str(detail)


def problem_exception_handler(exc, context):
    """Map DomainError and DRF exceptions to problem details; let others raise."""
    if isinstance(exc, IntegrityError):
        # Row locks make this rare; when a unique constraint does catch a race,
        # the loser's transaction rolled back whole and may simply retry.
        logger.warning("integrity error answered as 409: %s", exc)
        exc = ConcurrentChange("Another request changed this at the same time; retry.")
    if is_unavailable(exc):
        # Nothing was written (the transaction died with the connection, or a
        # failover left us on a read-only server): a 503 tells the client to
        # retry, where a 500 would say "our bug". See events/db_errors.py.
        logger.warning("database unavailable, answered 503: %s", exc)
        return problem_response(
            status_code=503,
            code=ServiceUnavailable.code,
            title=ServiceUnavailable.title,
            detail="The database is unavailable; retry in a moment.",
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, DomainError):
        errors = exc.errors if isinstance(exc, Invalid) else None
        detail = exc.detail
        if errors and detail == exc.title:
            detail = "One or more fields are not valid; see errors."
        return problem_response(
            status_code=KIND_STATUS[exc.kind],
            code=exc.code,
            title=exc.title,
            detail=detail,
            errors=errors,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 answers with a problem
    code, title = next(
        (value for cls, value in DRF_PROBLEMS.items() if isinstance(exc, cls)),
        ("error", "Error"),
    )
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"non_field_errors": exc.detail}
        )
        detail = "One or more fields are not valid; see errors."
    else:
        detail = _flatten_detail(getattr(exc, "detail", str(exc)))
    headers = {
        key: value
        for key, value in response.headers.items()
        if key in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    return problem_response(
        status_code=response.status_code,
        code=code,
        title=title,
        detail=detail,
        errors=errors,
        headers=headers,
    )


def not_found_view(request, exception=None):
    return plain_problem(404, "not-found", "Not found", "No such resource.")


def server_error_view(request):
    return plain_problem(
        500, "server-error", "Internal error", "Something went wrong on our side."
    )
