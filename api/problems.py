"""RFC 9457 problem details: the one place errors become HTTP responses.

Views never build error bodies by hand; services raise DomainError subclasses
(domain/errors.py, each app's errors.py) and DRF raises its own exceptions, and
both end up here.
"""

from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from api.auth_tokens import TokenExpired
from api.plain_problems import (
    PROBLEM_CONTENT_TYPE,
    TYPE_BASE,
    database_error_problem,
    plain_problem,
)
from domain.errors import DomainError, Invalid

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
    if problem := database_error_problem(exc):
        return problem_response(**problem)
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
