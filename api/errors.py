"""Domain errors: what a service raises when it refuses a command.

Services say *why* (a stable `code`) and *what kind* of refusal it is; the one
exception handler in api/problems.py turns that into RFC 9457 problem details.
"""


class DomainError(Exception):
    """Base of every refusal; `kind` picks the HTTP status, `code` the problem type."""

    # invalid, forbidden, not_found, conflict, unprocessable, too_large, unavailable
    kind = "conflict"
    code = "domain-error"
    title = "The request was refused"

    def __init__(self, detail: str | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class NotFound(DomainError):
    kind = "not_found"
    code = "not-found"
    title = "Not found"


class Forbidden(DomainError):
    kind = "forbidden"
    code = "forbidden"
    title = "Not allowed"


class Conflict(DomainError):
    kind = "conflict"
    code = "conflict"
    title = "Conflict with the current state"


class Invalid(DomainError):
    """Bad input found by a service, optionally with per-field messages."""

    kind = "invalid"
    code = "validation-error"
    title = "The request is not valid"

    def __init__(self, detail: str | None = None, errors: dict | None = None):
        super().__init__(detail)
        self.errors = errors or {}


class ConcurrentChange(Conflict):
    """A database constraint caught two requests changing the same thing at once."""

    code = "concurrent-change"
    title = "Changed by a concurrent request"


class ServiceUnavailable(DomainError):
    """The database is away for a moment (a restart, a failover): retry shortly."""

    kind = "unavailable"
    code = "service-unavailable"
    title = "Temporarily unavailable"


class PayloadTooLarge(DomainError):
    """The body is over MAX_REQUEST_BODY_BYTES; answered before anything reads it."""

    kind = "too_large"
    code = "payload-too-large"
    title = "The request body is too large"
