"""CPU per process group between two snapshots of /proc."""

import pytest

from bench.meter import OTHERS, Meter
from bench.procfs import PG_BACKENDS, PG_REAPED


def _snapshot(machine: float, wall: float, **groups) -> dict:
    return {**groups, "_machine": machine, "_wall": wall}


def test_a_backend_that_exits_in_the_phase_counts_only_what_it_used_in_it():
    # given: the postmaster (pid 1) and a backend (pid 7) that had used 50 s
    # before the phase, then 2 s more before it exited; the postmaster reaped
    # its 52 s
    before = _snapshot(
        100.0,
        0.0,
        postgresql={1: 10.0, 7: 50.0},
        **{PG_BACKENDS: {7: 50.0}, PG_REAPED: {1: 5.0}},
    )
    after = _snapshot(
        110.0,
        10.0,
        postgresql={1: 10.0 + 52.0 + 1.0},  # + 1 s of its own
        **{PG_BACKENDS: {}, PG_REAPED: {1: 5.0 + 52.0}},
    )

    # when
    used = Meter().cpu_between(before, after)

    # then: the server used 3 s in the phase (2 of them the exited backend's)
    assert used["postgresql"] == pytest.approx(3.0)
    assert used[PG_REAPED] == pytest.approx(2.0)
    assert used[PG_BACKENDS] == 0.0  # the live backends' share: a lower bound
    assert used[OTHERS] == pytest.approx(7.0)  # the machine's 10 s, less the server's


def test_a_process_started_in_the_phase_counts_from_zero():
    before = _snapshot(0.0, 0.0, web={1: 4.0})
    after = _snapshot(5.0, 5.0, web={1: 5.0, 2: 1.5})

    used = Meter().cpu_between(before, after)

    assert used["web"] == pytest.approx(2.5)
    assert used[OTHERS] == pytest.approx(2.5)
