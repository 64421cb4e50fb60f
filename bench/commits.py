"""Commits and statements per process: each process's own counts, from its /metrics.

PostgreSQL counts commits per database; each process of the stack counts its
own, and the statements it sends (observability/db_commits.py), and serves
`payments_db_commits_total` and `payments_db_statements_total`. What the
server counted beyond the processes' commits is, first, `LISTEN_READS`: the
transaction PostgreSQL runs in an idle LISTEN session (the relay's, the
mailer's) to hand it each notification, counted by the process that received
it; then `ELSEWHERE`: the bench's probe polling, and the processes that serve
no /metrics (housekeeping, the settlement receiver, the demo bank). The server
counts no statements.
"""

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

METRICS = {
    "payments_db_commits": "commits",
    "payments_db_statements": "statements",
    "payments_db_notifications": "notifications",
}
LISTEN_READS = "LISTEN sessions (the server hands over each notification)"
ELSEWHERE = "elsewhere (bench probe, processes without /metrics)"


def counts_read(urls: dict[str, str]) -> dict[str, dict[str, float]]:
    """Each answering process's counts; one that does not answer is left out."""
    counts: dict[str, dict[str, float]] = {}
    for name, url in urls.items():
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the stack's own loopback URLs
                text = response.read().decode()
        except (OSError, urllib.error.URLError):
            continue
        for family in text_string_to_metric_families(text):
            if family.name in METRICS:
                counts.setdefault(name, {})[METRICS[family.name]] = sum(
                    s.value for s in family.samples if s.name == f"{family.name}_total"
                )
    return counts


def per_unit(
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    kind: str,
    units: int,
) -> dict[str, float]:
    """Each process's count of this kind ("commits", "statements") per unit."""
    units = max(1, units)
    return {
        name: (counts[kind] - before[name].get(kind, 0.0)) / units
        for name, counts in after.items()
        if name in before and kind in counts
    }


def commits_per_unit(before, after, server: float, units: int) -> dict[str, float]:
    """Each process's commits per unit, and the rest of what the server counted
    (`server` is its xact_commit per unit over the same span)."""
    per = per_unit(before, after, "commits", units)
    per[LISTEN_READS] = sum(per_unit(before, after, "notifications", units).values())
    per[ELSEWHERE] = server - sum(per.values())
    return per


def server_counted(counts: dict[str, dict[str, float]]) -> float:
    """What the server counts as commits for these processes: their own, and
    the LISTEN sessions' transactions for the notifications they received."""
    return sum(
        c.get("commits", 0.0) + c.get("notifications", 0.0) for c in counts.values()
    )
