"""A LISTEN session's socket, read without a round trip.

An idle session's socket has nothing to read unless the server spoke unasked:
a notification, or the end of the session (a restart, a shutdown,
pg_terminate_backend: a FATAL message, then the hang-up). Reading what is
there tells the two apart at no cost to the server.
"""

import select

import psycopg

from observability.db_commits import notifications_counted


def readable(fd: int) -> bool:
    """Whether the socket has something to read (or hung up), without waiting."""
    if hasattr(select, "poll"):
        # poll, not select: select refuses descriptors above 1023, which a
        # busy process may hand out. A hang-up or an error is reported too.
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    readable_fds, _, _ = select.select([fd], [], [], 0)  # Windows has no poll
    return bool(readable_fds)


def notifications_drained(conn: psycopg.Connection) -> int:
    """Read what the idle session's socket holds; return how many notifications.

    A session the server ended says so with a FATAL message, which reaches the
    connection's notice handlers, then hangs up; once the hang-up is read this
    raises psycopg.OperationalError. The notifications are taken out of
    libpq's queue here (psycopg's notifies() would not see them).
    """
    pgconn = conn.pgconn
    count = 0
    while readable(pgconn.socket):
        pgconn.consume_input()  # raises OperationalError on the hang-up
        while pgconn.notifies() is not None:
            count += 1
    notifications_counted(count)
    return count
