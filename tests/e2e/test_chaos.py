"""The fault run, short: a few hundred approvals while every fault fires at least once.

Runs `python -m bench.chaos --approvals 300` (bench/chaos, docs/chaos.md) as its
own process: the real stack approves payments through REST while the relay and
the consumer workers are SIGKILLed (also right between an effect and its ack),
the mailer is SIGKILLed mid-pass, RabbitMQ and PostgreSQL are restarted and
duplicates are injected; then it heals, drains and checks. The checker's
verdict fields are asserted here one by one, so a failure names the invariant
that broke.

It restarts the machine's PostgreSQL and RabbitMQ, which disturbs any other test
running at that moment: the `chaos` marker keeps it out of the parallel passes,
and the test command runs it last, alone (`-m chaos`).
"""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from launcher.local import rabbitmq_reachable
from tests.conftest import service_missing

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.chaos]

CI_RUN = ["--approvals", "300"]
TIMEOUT = 420  # about 2 minutes normally; a hung run is stopped, not waited for
FAULT_COUNTS = (
    "relay_kills",
    "worker_kills",
    "mailer_kills",
    "rabbitmq_restarts",
    "postgres_restarts",
    "postgres_read_only_windows",
    "duplicates_injected",
)


@pytest.fixture
def chaos_run(tmp_path):
    if not rabbitmq_reachable():
        service_missing("needs RabbitMQ at 127.0.0.1:5672 for the fault run")
    output = tmp_path / "chaos.json"
    run = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "bench.chaos", *CI_RUN, "--output", str(output)],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # SIGTERM, not SIGKILL: the run then restores PostgreSQL and RabbitMQ.
        run.terminate()
        stdout, stderr = run.communicate(timeout=240)
    # Shown by pytest when the test fails: the report and the run's log folder.
    print(stdout[-30_000:])
    print(stderr[-10_000:], file=sys.stderr)
    assert output.exists(), "the fault run wrote no result:\n" + stderr[-3000:]
    return json.loads(output.read_text()), run.returncode


def test_nothing_is_lost_doubled_or_reordered_while_everything_crashes(chaos_run):
    result, returncode = chaos_run
    faults = result["faults"]

    # then: every fault really fired (a run without them would prove nothing)
    for count in FAULT_COUNTS:
        assert faults[count] >= 1, (count, faults)
    assert faults["never_fired"] == []
    assert result["approvals"]["accepted"] > 0

    # and: every consumer applied every event, each exactly once
    assert result["lost"]["total"] == 0, result["lost"]
    # a read-only window is an outage, never blamed on the events in flight
    assert result["lost"]["dead_lettered"] == 0, result["lost"]
    assert result["effects"]["double_applied_total"] == 0, result["effects"]
    assert not any(result["effects"]["missing"].values()), result["effects"]
    assert not any(result["effects"]["unexpected"].values()), result["effects"]

    # and: the ledger balanced at every read and at the end, moving exactly the
    # approved amounts
    assert result["ledger_reads"]["unbalanced_reads"] == 0, result["ledger_reads"]
    assert result["ledger_reads"]["ok_reads"] > 0
    assert result["ledger"]["final"]["balanced"], result["ledger"]
    assert result["ledger"]["matches_approved_amounts"], result["ledger"]

    # and: per payment and per debtor account, events were applied in order
    assert result["order"]["total"] == 0, result["order"]

    # and: what the clients were told holds, and the state/outbox pairs agree
    assert result["approvals"]["accepted_but_not_approved"] == 0
    assert result["outbox"]["half_states"] == 0, result["outbox"]

    # and: every notification e-mail was sent, the killed mailer's claimed ones
    # too, once their claim ran out
    assert result["emails"]["unsent_after_drain"] == 0, result["emails"]
    assert result["emails"]["messages_written"] >= result["emails"]["sent"] > 0

    # and: the pipeline drained, leaving nothing in any queue, no process died
    # by itself, and PostgreSQL and RabbitMQ are running again
    assert result["drain"]["drained"], result["drain"]
    assert result["queues"]["left"] == 0, result["queues"]
    assert result["processes"]["died_unexpectedly"] == [], result["processes"]
    assert result["infrastructure_notes"] == []
    assert (result["verdict"], returncode) == ("PASS", 0), result["reasons"]
