"""bench/profiling.py: the wall-clock and the CPU (GIL-holding) recordings."""

import subprocess
import sys
import textwrap
import time

import pytest

from bench.profiling import Recording, py_spy, summarize

PROGRAM = textwrap.dedent(
    """
    import time

    def compute():
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            sum(range(1000))

    def sleep_a_while():  # a wait, by its name (bench/profiling.py WAITING)
        time.sleep(0.05)

    while True:
        compute()
        sleep_a_while()
    """
)


@pytest.fixture
def half_idle(tmp_path):
    """A process that computes half the time and sleeps the other half."""
    program = tmp_path / "half_idle.py"
    program.write_text(PROGRAM)
    process = subprocess.Popen([sys.executable, str(program)])  # noqa: S603
    time.sleep(0.5)
    yield process
    process.kill()
    process.wait()


@pytest.mark.skipif(py_spy() is None, reason="py-spy is not installed")
def test_the_cpu_profile_samples_only_computing_and_the_wall_one_waiting_too(
    half_idle, tmp_path
):
    # given
    wall = Recording(half_idle.pid, tmp_path / "wall.txt")
    cpu = Recording(half_idle.pid, tmp_path / "cpu.txt", gil=True)

    # when
    time.sleep(2)
    walled, cpued = summarize(wall.stop()), summarize(cpu.stop())

    # then: the wall clock sees the sleep; the CPU profile sees only compute()
    assert walled["samples"] and cpued["samples"]
    assert 0.3 < walled["waiting_share"] < 0.7
    assert cpued["waiting_share"] < 0.05
    assert any(
        row["frame"].startswith("compute ") and row["share"] > 0.9
        for row in cpued["top_inclusive"] + cpued["top_self"]
    )
