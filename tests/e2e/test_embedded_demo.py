"""The README's run path: `manage.py demo` on SQLite and the filesystem broker.

Starts the demo as a user would (web, the relay, the workers, the landing
folder's receiver and the simulated bank as child processes), approves a
payment through REST and watches every consumer apply it, then the payment's
second half: released, booked by the bank, its statement received and
processed, settled.
"""

import os
import signal
import time

import pytest
import requests

from tests.demo_process import demo_running
from tests.e2e.rest import (
    first_account,
    payment_approve,
    payment_submit,
    token_headers,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(tmp_path):
    with demo_running(tmp_path) as running:
        yield running.base, running.process, running.log


def test_demo_runs_the_whole_flow_and_stops_on_ctrl_c(demo):
    base, process, log = demo
    alice, bob = token_headers(base, "alice"), token_headers(base, "bob")
    account = first_account(base, alice)

    # given: alice submitted a payment
    payment = payment_submit(base, alice, account, 12550).json()

    # when: bob approves it
    approved = payment_approve(base, bob, payment["id"])
    assert approved.status_code == 200

    # then: the journal entry, the notification and the expectation appear
    def effects():
        query = f"?payment={payment['id']}"
        return (
            requests.get(
                base + "/api/v1/ledger/entries" + query, headers=bob, timeout=10
            ).json(),
            requests.get(
                base + "/api/v1/notifications" + query, headers=alice, timeout=10
            ).json(),
            requests.get(
                base + "/api/v1/reconciliation/expectations" + query,
                headers=bob,
                timeout=10,
            ).json(),
        )

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entries, notifications, expectations = effects()
        if (
            entries["results"]
            and expectations["results"]
            and any(
                n["event_type"] == "PaymentApproved" for n in notifications["results"]
            )
        ):
            break
        time.sleep(0.2)
    else:
        pytest.fail("consumers did not apply the approval:\n" + log.read_text())
    assert len(entries["results"]) == 1
    lines = entries["results"][0]["lines"]
    assert {(line["direction"], line["amount"]) for line in lines} == {
        ("debit", 12550),
        ("credit", 12550),
    }
    assert len(expectations["results"]) == 1

    # and then: released at the cut-off, booked by the simulated bank, its
    # statement received from the landing folder and processed: settled
    url = f"{base}/api/v1/payments/{payment['id']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = requests.get(url, headers=alice, timeout=10).json()["status"]
        if status == "settled":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the payment is {status}, not settled:\n" + log.read_text())
    entries, notifications, expectations = effects()
    assert entries["results"][0]["status"] == "posted"
    assert entries["results"][0]["booked_amount"] == 12550
    assert expectations["results"][0]["status"] == "matched"
    [statement] = requests.get(
        base + "/api/v1/settlement-files", headers=bob, timeout=10
    ).json()["results"]
    assert statement["source"] == "landing_folder"
    assert statement["status"] == "processed"
    assert statement["outcome_counts"]["matched"] >= 1
    deadline = time.monotonic() + 20
    while not any(n["event_type"] == "PaymentSettled" for n in effects()[1]["results"]):
        assert time.monotonic() < deadline, "the submitter was not told"
        time.sleep(0.5)

    # and: Ctrl-C stops the demo and every child process
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=30) == 0
