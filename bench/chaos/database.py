"""The harness's own connections to the run's database (never the app's ORM).

PostgreSQL is restarted under the harness's feet, so every reader here expects
its connection to die and opens a new one on the next call.
"""

import contextlib

import psycopg

from launcher.local import PG


class Unavailable(Exception):
    """The database did not answer (e.g. it is restarting)."""


class Connection:
    """One autocommit connection, reopened after any failure; one per thread."""

    def __init__(self, dbname: str, connect_timeout: int = 3):
        self.dbname = dbname
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection | None = None

    def _open(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                **PG,
                dbname=self.dbname,
                autocommit=True,
                connect_timeout=self.connect_timeout,
            )
        return self._conn

    def _attempt(self, work):
        # A connection opened before a restart fails on first use although the
        # database is back: that costs one fresh try, not an "unavailable".
        stale = self._conn is not None
        try:
            return work(self._open())
        except psycopg.Error as exc:
            self.close()
            if not stale:
                raise Unavailable(f"{exc.__class__.__name__}: {exc}") from exc
        try:
            return work(self._open())
        except psycopg.Error as exc:
            self.close()
            raise Unavailable(f"{exc.__class__.__name__}: {exc}") from exc

    def rows(self, query: str, params=None) -> list[tuple]:
        return self._attempt(lambda conn: conn.execute(query, params).fetchall())

    def snapshot(self, queries: list[tuple[str, tuple | None]]) -> list[list[tuple]]:
        """Run the queries in one REPEATABLE READ transaction: one consistent read."""

        def read(conn):
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return [conn.execute(q, p).fetchall() for q, p in queries]

        return self._attempt(read)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
