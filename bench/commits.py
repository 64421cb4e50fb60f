"""Commits per process: each process's own count, read from its /metrics.

PostgreSQL counts commits per database; each process of the stack counts its
own (observability/db_commits.py) and serves `payments_db_commits_total`. What
the server counted beyond their sum is `ELSEWHERE`: the bench's probe polling,
and the processes that serve no /metrics (housekeeping, the settlement
receiver, the demo bank).
"""

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

METRIC = "payments_db_commits"
ELSEWHERE = "elsewhere (bench probe, processes without /metrics)"


def commits_read(urls: dict[str, str]) -> dict[str, float]:
    """Each answering process's count; one that does not answer is left out."""
    counts = {}
    for name, url in urls.items():
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the stack's own loopback URLs
                text = response.read().decode()
        except (OSError, urllib.error.URLError):
            continue
        for family in text_string_to_metric_families(text):
            if family.name == METRIC:
                counts[name] = sum(
                    s.value for s in family.samples if s.name == f"{METRIC}_total"
                )
    return counts


def commits_per_unit(
    before: dict[str, float], after: dict[str, float], server: float, units: int
) -> dict[str, float]:
    """Each process's commits per unit, and the rest of what the server counted
    (`server` is its xact_commit per unit over the same span)."""
    units = max(1, units)
    per = {
        name: (count - before.get(name, 0.0)) / units
        for name, count in after.items()
        if name in before
    }
    per[ELSEWHERE] = server - sum(per.values())
    return per
