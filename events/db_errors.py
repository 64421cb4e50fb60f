"""What a database error means for the event being applied: classified by SQLSTATE.

The exception class says little: psycopg raises OperationalError both for a lost
server and for a statement timeout, and InternalError for a transaction on a
read-only former primary after a failover. What matters is whose fault it is:
- UNAVAILABLE: the database is away or cannot take writes right now. Not the
  event's fault: hold the event (its partition's order with it) until it is back.
- CONFLICT: another transaction got in the way (deadlock, serialization). Retry
  at once a few times; if it keeps happening, treat it as the event's fault.
- EVENT: the statement failed because of what the event asked for (a value too
  long, a constraint, a statement timeout). Retrying will not help forever: a
  bounded number of retries, then the dead-letter queue.
See docs/lessons/idempotent-consumers.md ("When applying fails").
"""

import enum

from django.db import Error, InterfaceError, OperationalError


class Fault(enum.Enum):
    UNAVAILABLE = "unavailable"
    CONFLICT = "conflict"
    EVENT = "event"


# SQLSTATE classes and codes (PostgreSQL appendix A).
_UNAVAILABLE_CLASSES = {
    "08",  # connection exception
    "53",  # insufficient resources: too many connections, disk full
    "58",  # system error: I/O error
}
_UNAVAILABLE_CODES = {
    "25006",  # read_only_sql_transaction: a failover left us on a standby
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: starting up or in recovery
    "57P04",  # database_dropped
    "57P05",  # idle_session_timeout
    "25P03",  # idle_in_transaction_session_timeout
}
_CONFLICT_CODES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, looked up along its cause chain."""
    seen = 0
    while exc is not None and seen < 5:
        code = getattr(exc, "sqlstate", None)
        if code:
            return code
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def classify(exc: BaseException) -> Fault | None:
    """Whose fault a database error is; None when `exc` is no database error."""
    if not isinstance(exc, Error):
        return None
    code = sqlstate(exc)
    if code is None:
        # No code: the connection broke before the server answered (psycopg), or
        # SQLite is busy or locked. Both pass.
        if isinstance(exc, OperationalError | InterfaceError):
            return Fault.UNAVAILABLE
        return Fault.EVENT
    if code in _UNAVAILABLE_CODES or code[:2] in _UNAVAILABLE_CLASSES:
        return Fault.UNAVAILABLE
    if code in _CONFLICT_CODES:
        return Fault.CONFLICT
    return Fault.EVENT


def is_unavailable(exc: BaseException) -> bool:
    return classify(exc) is Fault.UNAVAILABLE
