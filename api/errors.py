"""The REST layer's own refusals: those no service raises.

Wrong credentials, a bad Idempotency-Key, a body too large, and what
api/problems.py answers when the database refuses (a constraint race, an
outage). The kinds they subclass, and every app's domain errors, live outside
HTTP (domain/errors.py); see docs/adr/0012-error-homes.md.
"""

from domain.errors import Conflict, DomainError, Invalid


class InvalidCredentials(Invalid):
    code = "invalid-credentials"
    title = "Unknown username or wrong password"


class IdempotencyKeyInvalid(Invalid):
    code = "idempotency-key-invalid"
    title = "The Idempotency-Key header is not valid"


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency-key-in-progress"
    title = "A request with this Idempotency-Key is still running"


class IdempotencyKeyMismatch(DomainError):
    kind = "unprocessable"
    code = "idempotency-key-mismatch"
    title = "This Idempotency-Key was used with a different request"


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
