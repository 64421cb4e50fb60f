"""One backoff formula for every retry: the relay's loop, a row the broker
refuses, a consumer's retries and the notification e-mails (events/backoff.py)."""

import re
from pathlib import Path

from events.backoff import Backoff, backoff_seconds

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = [
    "api",
    "config",
    "contracts",
    "events",
    "ledger",
    "notifications",
    "organisations",
    "payments",
    "reconciliation",
    "stack",
    "web",
]


def test_the_loop_backoff_grows_with_failures_is_capped_and_jittered():
    # given
    backoff = Backoff(base=0.2, cap=5.0)

    # when
    delays = [backoff.next_delay() for _ in range(30)]

    # then
    assert 0.2 <= delays[0] <= 0.4
    assert all(delay <= 5.0 for delay in delays)
    assert all(delay >= 2.5 for delay in delays[10:])  # at the cap, half jitter
    assert len(set(delays[10:])) > 1  # jittered, so relays do not retry in step
    backoff.reset()
    assert backoff.next_delay() <= 0.4


def test_an_exact_backoff_doubles_from_its_base_up_to_its_cap():
    assert [backoff_seconds(n, base=1.0, cap=10.0, jitter=False) for n in range(6)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
    ]
    assert backoff_seconds(10_000, base=1.0, cap=10.0, jitter=False) == 10.0


def test_no_other_module_computes_a_backoff_of_its_own():
    # given: the formula's two marks, a doubling and a jitter
    marks = re.compile(r"\b2 \*\* |random\.uniform\(")
    # when
    found = [
        str(path.relative_to(ROOT))
        for package in APP_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if marks.search(path.read_text())
    ]
    # then
    assert found == ["events/backoff.py"]
