"""SQLite: commits counted (observability/db_commits.py)."""

from django.db.backends.sqlite3 import base

from observability.db_commits import CommitsCounted


class DatabaseWrapper(CommitsCounted, base.DatabaseWrapper):
    def _in_transaction(self) -> bool:
        return self.connection.in_transaction
