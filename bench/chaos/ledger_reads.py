"""The bank test's reads: is the ledger balanced at every moment of the run?

Every ~0.5 s one REPEATABLE READ transaction sums the journal's debits and
credits per currency and looks for any entry whose own lines do not balance.
A read that fails (PostgreSQL restarting) is `unavailable`, not unbalanced:
Jepsen checks only the reads that succeeded.
"""

import threading
import time
from dataclasses import dataclass, field

from bench.chaos.database import Connection, Unavailable

TOTALS = (
    "SELECT currency,"
    " coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0),"
    " coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)"
    " FROM ledger_journalline GROUP BY currency ORDER BY currency"
)
UNBALANCED_ENTRIES = (
    "SELECT entry_id::text, currency FROM ledger_journalline GROUP BY 1, 2"
    " HAVING sum(CASE direction WHEN 'debit' THEN amount ELSE -amount END) <> 0"
    " LIMIT 5"
)


def ledger_read(conn: Connection) -> dict:
    """One consistent read: totals per currency and any unbalanced entries."""
    totals, unbalanced = conn.snapshot([(TOTALS, None), (UNBALANCED_ENTRIES, None)])
    per_currency = {c: {"debit": int(d), "credit": int(k)} for c, d, k in totals}
    wrong = {c: t for c, t in per_currency.items() if t["debit"] != t["credit"]}
    return {
        "totals": per_currency,
        "wrong_totals": wrong,
        "unbalanced_entries": [list(row) for row in unbalanced],
        "balanced": not wrong and not unbalanced,
    }


@dataclass
class LedgerReader:
    dbname: str
    interval: float = 0.5
    reads: int = 0
    balanced: int = 0
    unbalanced: list[dict] = field(default_factory=list)  # the failing reads
    unavailable: int = 0
    first_unavailable_error: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _loop(self) -> None:
        conn = Connection(self.dbname, connect_timeout=2)
        started = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                read = ledger_read(conn)
            except Unavailable as exc:
                self.unavailable += 1
                self.first_unavailable_error = self.first_unavailable_error or str(exc)
                continue
            self.reads += 1
            if read["balanced"]:
                self.balanced += 1
            else:
                read["at_seconds"] = round(time.monotonic() - started, 1)
                self.unbalanced.append(read)
        conn.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ledger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def summary(self) -> dict:
        return {
            "reads": self.reads + self.unavailable,
            "ok_reads": self.reads,
            "balanced_reads": self.balanced,
            "unbalanced_reads": len(self.unbalanced),
            "unavailable_reads": self.unavailable,
            "first_unavailable_error": self.first_unavailable_error[:300],
            "first_unbalanced": self.unbalanced[0] if self.unbalanced else None,
        }
