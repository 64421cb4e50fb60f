"""PostgreSQL: commits counted, and a health check that costs no round trip."""

from django.db.backends.postgresql import base
from psycopg.pq import ConnStatus, TransactionStatus

from config.db.listen import readable
from observability.db_commits import CommitsCounted, autocommit_statements_counted


class DatabaseWrapper(CommitsCounted, base.DatabaseWrapper):
    def _in_transaction(self) -> bool:
        return self.connection.info.transaction_status != TransactionStatus.IDLE

    def _commit_would_commit(self) -> bool:
        # Not INERROR: COMMIT of a failed transaction is a rollback.
        return self.connection.info.transaction_status == TransactionStatus.INTRANS

    def is_usable(self) -> bool:
        usable = super().is_usable()  # SELECT 1, in autocommit
        if usable:
            autocommit_statements_counted()
        return usable

    def close_if_health_check_failed(self) -> None:
        """Django's CONN_HEALTH_CHECKS, without a SELECT 1 per request or task.

        An idle connection's socket has nothing to read unless the server
        spoke unasked: it terminated the session (a restart, a shutdown,
        pg_terminate_backend) or hung up. Only then is the query asked. A
        silent network loss is no different from before: SELECT 1 would block
        on it as the first real statement does, until the keepalives give up.
        """
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
        ):
            return
        if self._server_spoke_while_idle() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def _server_spoke_while_idle(self) -> bool:
        pgconn = self.connection.pgconn
        if self.connection.closed or pgconn.status != ConnStatus.OK:
            return True
        return readable(pgconn.socket)
