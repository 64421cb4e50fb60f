"""The kinds of refusal a service or selector raises, free of HTTP.

Each app subclasses these in its own `errors.py` with a stable `code` saying
why; api/problems.py turns `kind` into a status and the rest into RFC 9457
problem details. See docs/adr/0012-error-homes.md.
"""


class DomainError(Exception):
    """Base of every refusal; `kind` says what sort it is, `code` why."""

    # invalid, forbidden, not_found, conflict, unprocessable, too_large,
    # unsupported_media_type, unavailable
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
