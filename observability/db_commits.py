"""Commits and statements per process: what this process asked of the database.

PostgreSQL counts commits per database (`pg_stat_database.xact_commit`), not
per session, so it cannot say which process paid for them. Each process counts
its own, by the rule the server applies: an atomic block commits once if it ran
a statement (an empty one sends nothing), and a statement run outside one is a
transaction of its own (autocommit). A rolled-back block is no commit.

The database backends of config/db count through the mixin below;
a raw psycopg connection (the relay's leader lock) calls
`autocommit_statements_counted`. `payments_db_commits` and
`payments_db_statements` are served on each process's /metrics (the web's
summed across its gunicorn workers); the benchmark reads them per process to
split commits and statements per approval (bench/commits.py,
docs/benchmark.md). A LISTEN session costs the server a transaction for each
notification it hands over (`payments_db_notifications`): the relay and the
mailer count those they receive, so that the benchmark can name them.
See docs/operations.md#metrics-and-alerts.
"""

from prometheus_client import Counter

DB_COMMITS = Counter(
    "payments_db_commits",
    "Transactions this process committed on the database: an atomic block "
    "that ran a statement, or a statement run outside one (autocommit).",
)


DB_STATEMENTS = Counter(
    "payments_db_statements",
    "Statements this process sent through Django's cursors (queries and "
    "savepoints; not BEGIN and COMMIT, which the driver sends), and through "
    "the relay's leader-lock connection: each a round trip.",
)


DB_NOTIFICATIONS = Counter(
    "payments_db_notifications",
    "Notifications this process's LISTEN session received. PostgreSQL hands "
    "them to an idle session in a transaction of that session, which it counts "
    "as a commit of the database: one per notification, or fewer when several "
    "queue together. Not in payments_db_commits: the process sent nothing.",
)


def notifications_counted(count: int) -> None:
    if count:
        DB_NOTIFICATIONS.inc(count)


def autocommit_statements_counted(statements: int = 1) -> None:
    """Count statements a raw autocommit connection ran: each one committed."""
    DB_COMMITS.inc(statements)
    DB_STATEMENTS.inc(statements)


class CommitsCounted:
    """Mixin for a Django DatabaseWrapper: counts what the server will count.

    The subclass for each driver says whether a transaction is open, and
    whether a commit of it would commit (PostgreSQL rolls back a failed one).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Permanent and outermost: execute_wrapper() in tests pushes and pops
        # after it, never before.
        self.execute_wrappers.append(self._autocommit_counted)

    def _in_transaction(self) -> bool:
        raise NotImplementedError

    def _commit_would_commit(self) -> bool:
        return self._in_transaction()

    def _autocommit_counted(self, execute, sql, params, many, context):
        DB_STATEMENTS.inc()  # sent, whether or not the server accepts it
        result = execute(sql, params, many, context)
        if not self._in_transaction():
            DB_COMMITS.inc()
        return result

    def _commit(self):
        began = self.connection is not None and self._commit_would_commit()
        result = super()._commit()
        if began:
            DB_COMMITS.inc()
        return result
