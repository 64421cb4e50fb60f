"""What the benchmark reads from the stack's database and broker while it runs."""

import time

import amqp
import psycopg
from django.conf import settings

from events.topology import partition_queue_name, receivers
from launcher.local import PG

# Every consumer the process list runs (each has its `<name>-worker`). Each
# event type reaches only the consumers bound to it (receivers): an approval is
# done when the last of those applied it.
CONSUMERS = tuple(settings.EVENT_CONSUMERS)
WORKERS = tuple(f"{c}-worker" for c in CONSUMERS)
# What the consumer drain's backlog holds; the settlement loop adds events of
# other types meanwhile, which are not the backlog.
BACKLOG_TYPES = ("PaymentSubmitted", "PaymentApproved")


class Probe:
    """Counts and timestamps of one stack, by SQL on its private database.

    One persistent connection, so that polling neither opens a PostgreSQL
    session per look (each costs the server a catalog warm-up) nor scans the
    inbox: with the planner's statistics lagging behind a fast-growing table, it
    would choose a sequential scan for `id > recent`; sequential scans are off
    for this session.
    """

    def __init__(self, stack):
        self.stack = stack
        self.conn: psycopg.Connection | None = None

    def sql(self, query: str, params=None, *, rows: bool = True) -> list[tuple]:
        for attempt in (1, 2):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(
                        **PG, dbname=self.stack.name, autocommit=True
                    )
                    self.conn.execute("SET enable_seqscan = off")
                cursor = self.conn.execute(query, params)
                return cursor.fetchall() if rows else []
            except psycopg.OperationalError:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def db_stats(self) -> dict:
        """PostgreSQL's counters for this database (sessions, commits, tuples)."""
        row = self.sql(
            "SELECT sessions, xact_commit, tup_returned, tup_fetched, tup_inserted,"
            " tup_updated, blks_hit, blks_read FROM pg_stat_database "
            "WHERE datname = current_database()"
        )[0]
        keys = (
            "sessions", "xact_commit", "tup_returned", "tup_fetched",
            "tup_inserted", "tup_updated", "blks_hit", "blks_read",
        )  # fmt: skip
        return dict(zip(keys, (float(v) for v in row), strict=True))

    def table_stats(self) -> dict:
        """Scans per table of this database; the system catalogs summed as one.

        Index entries read (`idx_tup_read`) beside the live rows they led to
        (`idx_tup_fetch`): entries of dead row versions are read and not
        fetched, so a gap between the two is bloat an index scan walks through.
        """
        rows = self.sql(
            "SELECT t.relname, t.seq_scan, t.seq_tup_read, coalesce(t.idx_scan, 0),"
            " coalesce(t.idx_tup_fetch, 0), (SELECT coalesce(sum(i.idx_tup_read), 0)"
            "  FROM pg_stat_user_indexes i WHERE i.relid = t.relid)"
            " FROM pg_stat_user_tables t "
            "UNION ALL SELECT '(system catalogs)', sum(seq_scan), sum(seq_tup_read),"
            " sum(coalesce(idx_scan, 0)), sum(coalesce(idx_tup_fetch, 0)),"
            " (SELECT sum(idx_tup_read) FROM pg_stat_sys_indexes)"
            " FROM pg_stat_sys_tables"
        )
        keys = ("seq_scan", "seq_tup_read", "idx_scan", "idx_tup_fetch", "idx_tup_read")
        return {
            name: dict(zip(keys, (float(v or 0) for v in values), strict=True))
            for name, *values in rows
        }

    def autovacuum_stands_in(self) -> bool:
        """VACUUM (ANALYZE) this database if the server's autovacuum is off.

        A production server vacuums and analyses as rows change. With its
        autovacuum off (as on this machine's shared server) the stack's tables
        keep every dead row version and the planner its first, empty-table
        statistics, so each phase would read more than the last: in one full
        run, index scans walked 13.7 million entries of statement lines to
        fetch 533, and the due e-mails' partial index 9.8 million for 996.
        Called untimed before each phase; returns whether it vacuumed.
        """
        if self.sql("SHOW autovacuum")[0][0] == "on":
            return False
        self.sql("VACUUM (ANALYZE)", rows=False)
        # Each table's vacuum and analyse is a transaction: counted now, not
        # in the phase that starts next (counts flush at most once a second).
        try:
            self.sql("SELECT pg_stat_force_next_flush()")
        except psycopg.errors.UndefinedFunction:  # before PostgreSQL 15
            self.close()
            time.sleep(1.1)
        return True

    def outbox_pending(self) -> int:
        return self.sql(
            "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
        )[0][0]

    def outbox_max_id(self) -> int:
        return self.sql("SELECT coalesce(max(id), 0) FROM events_outboxmessage")[0][0]

    def inbox_max_id(self) -> int:
        return self.sql("SELECT coalesce(max(id), 0) FROM events_inboxentry")[0][0]

    def applied_since(self, inbox_id: int, event_types: tuple[str, ...]) -> dict:
        """Applied rows of these types per consumer bound to them, with an id above
        `inbox_id`."""
        counts = dict(
            self.sql(
                "SELECT consumer, count(*) FROM events_inboxentry "
                "WHERE id > %s AND status = 'applied' AND event_type = ANY(%s) "
                "GROUP BY consumer",
                [inbox_id, list(event_types)],
            )
        )
        return {c: counts.get(c, 0) for c in receivers(event_types, CONSUMERS)}

    def wait_applied(
        self, inbox_id: int, expected: int, timeout: float, event_types: tuple[str, ...]
    ) -> dict:
        """Wait until every consumer bound to these types applied `expected` rows."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.applied_since(inbox_id, event_types)
            if min(counts.values()) >= expected:
                return counts
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers applied {counts}, expected {expected}")
            time.sleep(0.25)

    def wait_outbox_drained(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.outbox_pending():
            if time.monotonic() > deadline:
                raise TimeoutError("the relay did not drain the outbox")
            time.sleep(0.1)

    def pending_payments(self) -> list[str]:
        return [
            row[0]
            for row in self.sql(
                "SELECT id::text FROM payments_payment "
                "WHERE status = 'pending_approval' ORDER BY created_at, id"
            )
        ]

    def approvals_flow(self, payment_ids: list[str]) -> list[tuple]:
        """Per PaymentApproved of these payments and consumer: the stamps in ms.

        Rows of (event_id, consumer, created->published, created->applied),
        both measured from the outbox row's created_at.
        """
        return self.sql(
            "SELECT o.event_id::text, i.consumer,"
            " extract(epoch FROM o.published_at - o.created_at) * 1000,"
            " extract(epoch FROM i.applied_at - o.created_at) * 1000 "
            "FROM events_outboxmessage o JOIN events_inboxentry i"
            " ON i.event_id = o.event_id AND i.status = 'applied' "
            "WHERE o.event_type = 'PaymentApproved' AND o.subject = ANY(%s)",
            [payment_ids],
        )

    def last_applied_epoch(self, payment_ids: list[str]) -> float:
        """Wall-clock time the last consumer applied the last of these approvals."""
        return float(
            self.sql(
                "SELECT extract(epoch FROM max(i.applied_at)) "
                "FROM events_inboxentry i JOIN events_outboxmessage o"
                " ON o.event_id = i.event_id "
                "WHERE o.event_type = 'PaymentApproved' AND o.subject = ANY(%s)",
                [payment_ids],
            )[0][0]
        )

    def consumer_rates_since(self, inbox_id: int, event_types: tuple[str, ...]) -> dict:
        """Per consumer: events/s of these types between its first and last apply."""
        rows = self.sql(
            "SELECT consumer, count(*),"
            " extract(epoch FROM max(applied_at) - min(applied_at)) "
            "FROM events_inboxentry WHERE id > %s AND status = 'applied' "
            "AND event_type = ANY(%s) GROUP BY consumer",
            [inbox_id, list(event_types)],
        )
        return {
            consumer: (count - 1) / float(span) if span else None
            for consumer, count, span in rows
        }

    def backlog_emails(self, inbox_id: int) -> tuple[int, int, float | None]:
        """(sent, not yet sent, e-mails/s between the first and last send) of the
        e-mails the notifications consumer recorded for events past `inbox_id`."""
        [(sent, unsent, span)] = self.sql(
            "SELECT count(n.email_sent_at), count(*) - count(n.email_sent_at),"
            " extract(epoch FROM max(n.email_sent_at) - min(n.email_sent_at)) "
            "FROM notifications_notification n JOIN events_inboxentry i "
            "ON i.event_id = n.event_id AND i.consumer = 'notifications' "
            "WHERE i.id > %s AND n.email_status IN ('pending', 'sent')",
            [inbox_id],
        )
        return sent, unsent, (sent - 1) / float(span) if span else None

    def relay_marks_since(self, outbox_id: int) -> list[tuple[float, int]]:
        """Each batch the relay marked past `outbox_id`: (epoch, rows)."""
        rows = self.sql(
            "SELECT extract(epoch FROM published_at), count(*) "
            "FROM events_outboxmessage WHERE id > %s AND published_at IS NOT NULL "
            "GROUP BY published_at ORDER BY published_at",
            [outbox_id],
        )
        return [(float(at), n) for at, n in rows]


def consumer_queues_purge(vhost: str, partitions: int) -> int:
    """Empty every consumer's partition queues; return how many messages went."""
    conn = amqp.Connection(
        "127.0.0.1:5672",
        userid="guest",
        password="guest",  # noqa: S106 - the local broker's default user
        virtual_host=vhost,
    )
    conn.connect()
    purged = 0
    try:
        channel = conn.channel()
        for consumer in CONSUMERS:
            for partition in range(partitions):
                purged += channel.queue_purge(partition_queue_name(consumer, partition))
    finally:
        conn.close()
    return purged
