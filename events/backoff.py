"""Capped exponential backoff: the one formula every retry in the app waits by.

The relay (broker or database away; a row the broker refuses), a consumer's
retries and the notification e-mails all wait base * 2**n, up to a cap. Waits
scheduled in memory are jittered, so processes that failed together do not
retry in step; waits stored in a row (a due time) are exact.
"""

import random


def backoff_seconds(n: int, *, base: float, cap: float, jitter: bool = True) -> float:
    """Return the wait after failure number `n` (counted from 0): base * 2**n, capped.

    With `jitter`, a random point in the upper half of that wait.
    """
    ceiling = min(cap, base * 2 ** min(n, 30))
    if not jitter:
        return ceiling
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


class Backoff:
    """Count a loop's consecutive failures and say how long to wait after each."""

    def __init__(self, *, base: float, cap: float):
        self.base = base
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return backoff_seconds(self.failures, base=self.base, cap=self.cap)

    def reset(self) -> None:
        self.failures = 0
