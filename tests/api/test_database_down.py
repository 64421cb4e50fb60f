"""A database outage answers 503 problem details with Retry-After, never a 500."""

import time

import psycopg
import pytest
from django.db import OperationalError, connection

import api.idempotency
from api.models import IdempotencyKey
from config.db.conninfo import psycopg_conninfo
from events.models import OutboxMessage
from tests.assertions import assert_problem
from tests.factories import payment_submitted


def test_a_lost_database_connection_is_a_503_to_retry(client_for, alice, monkeypatch):
    # given: the database connection drops while the request reads
    def lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("payments.selectors.payment_list", lost)

    # when
    response = client_for(alice).get("/api/v1/payments")

    # then
    assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "1"


def test_a_read_only_database_after_a_failover_is_a_503_to_retry(
    client_for, alice, monkeypatch
):
    # given: the pooled connection is on a former primary that refuses writes
    from django.db import InternalError

    def read_only(**kwargs):
        error = InternalError("cannot execute INSERT in a read-only transaction")
        error.__cause__ = psycopg.errors.ReadOnlySqlTransaction("read-only")
        raise error

    monkeypatch.setattr("payments.selectors.payment_list", read_only)

    # when
    response = client_for(alice).get("/api/v1/payments")

    # then: retry later, not "our bug"
    assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "1"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_keyed_command_whose_commit_fails_is_a_503_and_wrote_nothing(
    client_for, alice, bob, acme_eur, monkeypatch
):
    # given: the request's session is ended by the server after its last
    # statement, so the COMMIT (the keyed request's middleware's, outside DRF)
    # fails for real
    payment = payment_submitted(by=alice, account=acme_eur)
    complete = api.idempotency._complete

    def then_the_session_ends(row_id, response):
        complete(row_id, response)
        pid = connection.connection.info.backend_pid
        conninfo = psycopg_conninfo(connection.settings_dict)
        # Autocommit: pg_stat_activity is read once per transaction.
        with psycopg.connect(**conninfo, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
            deadline = time.monotonic() + 10
            while other.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
            ).fetchone():
                assert time.monotonic() < deadline, "the session did not end"
                time.sleep(0.01)

    monkeypatch.setattr(api.idempotency, "_complete", then_the_session_ends)

    # when
    response = client_for(bob).post(
        f"/api/v1/payments/{payment.id}/approve", HTTP_IDEMPOTENCY_KEY="key-1"
    )

    # then: retry later, with the same key; nothing of it was kept
    assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "1"
    monkeypatch.undo()
    payment.refresh_from_db()
    assert payment.status == "pending_approval"
    assert not IdempotencyKey.objects.exists()
    assert not OutboxMessage.objects.filter(event_type="PaymentApproved").exists()
    # and the retry runs the command
    retry = client_for(bob).post(
        f"/api/v1/payments/{payment.id}/approve", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert retry.status_code == 200, retry.content
