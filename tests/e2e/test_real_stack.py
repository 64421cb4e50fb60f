"""The real stack, multi-process: 200 payments through REST while processes are killed.

Launches exactly the application services of docker-compose.yml (migrate, web
under gunicorn, relay, one Celery worker per consumer, the landing folder's
receiver, the demo's bank and the mailer) against the local PostgreSQL and RabbitMQ,
SIGKILLs a worker and the relay mid-stream, restarts them, and checks that
every consumer applied every event exactly once, in order; then that every
payment is released, booked, received, processed (the settlement worker is
SIGKILLed as its first statement arrives) and settled once.
"""

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from launcher.local import rabbitmq_reachable, stack_down, stack_up
from launcher.rabbitmqctl import queue_types
from launcher.runner import service_kill
from tests.conftest import service_missing

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

PAYMENTS = 200
ACCOUNTS = 5
CONSUMERS = ("ledger", "notifications", "reconciliation")
CREDITOR_IBAN = "DE89370400440532013000"


@pytest.fixture
def stack(tmp_path):
    if not rabbitmq_reachable():
        service_missing("needs RabbitMQ at 127.0.0.1:5672 for the real-stack test")
    stack = stack_up(tmp_path)
    try:
        yield stack
    finally:
        stack_down(stack)


def _token(stack, username: str) -> dict:
    response = requests.post(
        f"{stack.base_url}/api/v1/auth/token",
        json={"username": username, "password": "demo-password"},
        timeout=10,
    )
    response.raise_for_status()
    return {"Authorization": f"Token {response.json()['token']}"}


def _wait_until(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(message)


def test_every_approved_payment_reaches_every_consumer_once_in_order(stack):
    # given: five EUR debtor accounts of acme (one seeded, four more here)
    stack.manage(
        "shell",
        "-c",
        "from payments.models import DebtorAccount; "
        "from organisations.models import Organisation; "
        "from payments.iban import iban_build; "
        "acme = Organisation.objects.get(slug='acme'); "
        "[DebtorAccount.objects.get_or_create("
        "iban=iban_build('DE', f'1000000000{n:08d}'), "
        "defaults={'organisation': acme, 'name': f'E2E {n}', 'currency': 'EUR'})"
        " for n in range(4)]",
    )
    alice, bob = _token(stack, "alice"), _token(stack, "bob")
    accounts = [
        a["id"]
        for a in requests.get(
            f"{stack.base_url}/api/v1/accounts", headers=alice, timeout=10
        ).json()["results"]
        if a["currency"] == "EUR"
    ]
    assert len(accounts) == ACCOUNTS

    def submit_and_approve(n: int) -> str:
        session = requests.Session()
        created = session.post(
            f"{stack.base_url}/api/v1/payments",
            headers={**alice, "Idempotency-Key": f"e2e-{n}"},
            json={
                "debtor_account": accounts[n % ACCOUNTS],
                "amount": 1000 + n,
                "currency": "EUR",
                "creditor": {"name": f"Creditor {n}", "iban": CREDITOR_IBAN},
                "reference": f"E2E-{n}",
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        payment_id = created.json()["id"]
        approved = session.post(
            f"{stack.base_url}/api/v1/payments/{payment_id}/approve",
            headers=bob,
            timeout=30,
        )
        assert approved.status_code == 200, approved.text
        return payment_id

    # when: 200 payments are submitted and approved while processes are killed
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(submit_and_approve, n) for n in range(PAYMENTS)]
        _wait_until(lambda: sum(f.done() for f in futures) >= 60, 120, "stalled")
        service_kill(stack.running["ledger-worker"])
        stack.start("ledger-worker")
        _wait_until(lambda: sum(f.done() for f in futures) >= 120, 120, "stalled")
        service_kill(stack.running["relay"])
        stack.start("relay")
        payment_ids = [f.result() for f in futures]

    events_total = PAYMENTS * 2

    def drained() -> bool:
        unpublished = stack.sql(
            "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
        )[0][0]
        # Payments' own events; the release and settlement facts follow later.
        applied = dict(
            stack.sql(
                "SELECT i.consumer, count(*) FROM events_inboxentry i "
                "JOIN events_outboxmessage o ON o.event_id = i.event_id "
                "WHERE i.status = 'applied' AND o.source = '/payments' "
                "GROUP BY i.consumer"
            )
        )
        return unpublished == 0 and all(
            applied.get(c) == events_total for c in CONSUMERS
        )

    _wait_until(
        drained,
        180,
        "not drained; relay log:\n"
        + stack.logs("relay")
        + "\nledger log:\n"
        + stack.logs("ledger-worker"),
    )

    # then: one journal entry, one expectation and three notifications per payment
    ids = [str(p) for p in payment_ids]
    entries = dict(
        stack.sql(
            "SELECT payment_id::text, count(*) FROM ledger_journalentry "
            "GROUP BY payment_id"
        )
    )
    assert sorted(entries) == sorted(ids)
    assert set(entries.values()) == {1}
    expectations = dict(
        stack.sql(
            "SELECT payment_id::text, count(*) FROM reconciliation_expectation "
            "GROUP BY payment_id"
        )
    )
    assert sorted(expectations) == sorted(ids)
    assert set(expectations.values()) == {1}
    notifications = stack.sql(
        "SELECT n.payment_id::text, n.event_type, u.username, count(*) "
        "FROM notifications_notification n JOIN auth_user u ON u.id = n.recipient_id "
        "WHERE n.event_type IN ('PaymentSubmitted', 'PaymentApproved') "
        "GROUP BY 1, 2, 3"
    )
    per_payment = defaultdict(set)
    for payment_id, event_type, username, count in notifications:
        assert count == 1, (payment_id, event_type, username)
        per_payment[payment_id].add((event_type, username))
    expected = {
        ("PaymentSubmitted", "bob"),
        ("PaymentSubmitted", "carol"),
        ("PaymentApproved", "alice"),
    }
    assert all(per_payment[p] == expected for p in ids)
    # and: the mailer process sent each of their e-mails (its console backend
    # writes them to its log), the notifications worker none
    _wait_until(
        lambda: (
            stack.sql(
                "SELECT count(*) FROM notifications_notification "
                "WHERE email_status <> 'sent' "
                "AND event_type IN ('PaymentSubmitted', 'PaymentApproved')"
            )[0][0]
            == 0
        ),
        60,
        "e-mails unsent; mailer log:\n" + stack.logs("mailer"),
    )
    assert "Subject: " in stack.logs("mailer")
    assert "Subject: " not in stack.logs("notifications-worker")

    # and: the ledger balances, per currency
    totals = dict(
        stack.sql(
            "SELECT direction, sum(amount) FROM ledger_journalline "
            "WHERE currency = 'EUR' GROUP BY direction"
        )
    )
    assert totals["debit"] == totals["credit"] == sum(1000 + n for n in range(PAYMENTS))

    # and: each payment's events were applied in sequence order, and each debtor
    # account's events in the order they were published, by every consumer
    rows = stack.sql(
        "SELECT d.consumer, o.subject, o.sequence, o.partition_key, "
        "o.published_at, o.id, o.attempts FROM events_delivery d "
        "JOIN events_outboxmessage o ON o.event_id = d.event_id "
        "WHERE d.status = 'applied' AND o.source = '/payments' "
        "AND d.consumer IN ('ledger', 'notifications', 'reconciliation') "
        "ORDER BY d.id"
    )
    applied_order = defaultdict(list)
    for consumer, subject, sequence, partition_key, published_at, row_id, tries in rows:
        applied_order[(consumer, "payment", subject)].append(sequence)
        # published_at is when a row was marked. A row the SIGKILLed relay had
        # already published is published again and marked by its successor, so
        # its stamp is not its first publication: compare the rows published once.
        if tries == 1:
            applied_order[(consumer, "account", partition_key)].append(
                (published_at, row_id)
            )
    for (_, kind, _), order in applied_order.items():
        if kind == "payment":
            assert order == [1, 2]
        else:
            assert order == sorted(order)
    assert len(rows) == events_total * len(CONSUMERS)

    # and: all of it ran on the compose file's quorum queues (ADR 0020)
    types = queue_types(stack.name)
    for consumer in CONSUMERS:
        assert types[f"{consumer}.dead"] == "quorum"
        assert types[f"{consumer}.retry"] == "quorum"
        assert {types[f"{consumer}.p{n}"] for n in range(4)} == {"quorum"}

    # and then the second half, on the same stack: released at the cut-offs,
    # booked by the demo's bank, statements received from the landing folder
    # and processed by the settlement worker, which is SIGKILLed as soon as a
    # statement is announced: its file is processed once all the same
    _wait_until(
        lambda: (
            stack.sql(
                "SELECT count(*) FROM events_outboxmessage "
                "WHERE event_type = 'SettlementFileReceived'"
            )[0][0]
            > 0
        ),
        120,
        "no statement arrived; bank log:\n" + stack.logs("bank"),
    )
    service_kill(stack.running["settlement-worker"])
    stack.start("settlement-worker")

    def settled() -> bool:
        return (
            stack.sql("SELECT count(*) FROM payments_payment WHERE status = 'settled'")[
                0
            ][0]
            == PAYMENTS
        )

    _wait_until(
        settled,
        240,
        "not all settled; settlement log:\n"
        + stack.logs("settlement-worker")
        + "\nbank_gateway log:\n"
        + stack.logs("bank_gateway-worker"),
    )
    settlements = dict(
        stack.sql(
            "SELECT o.envelope->'data'->>'payment_id', count(*) "
            "FROM events_outboxmessage o WHERE o.event_type = 'PaymentSettled' "
            "GROUP BY 1"
        )
    )
    assert sorted(settlements) == sorted(ids)
    assert set(settlements.values()) == {1}
    assert stack.sql(
        "SELECT status, count(*) FROM settlement_settlementfile GROUP BY status"
    ) == [
        ("processed", stack.sql("SELECT count(*) FROM settlement_settlementfile")[0][0])
    ]
    matched = stack.sql(
        "SELECT count(*) FROM settlement_statementline WHERE outcome = 'matched'"
    )[0][0]
    assert matched == PAYMENTS

    def booked_everywhere() -> bool:
        posted = stack.sql(
            "SELECT count(*) FROM ledger_journalentry WHERE status = 'posted'"
        )[0][0]
        reconciled = stack.sql(
            "SELECT count(*) FROM reconciliation_expectation WHERE status = 'matched'"
        )[0][0]
        return posted == reconciled == PAYMENTS

    _wait_until(booked_everywhere, 120, "the ledger or reconciliation lags")
