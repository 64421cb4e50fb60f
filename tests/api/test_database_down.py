"""A database outage answers 503 problem details with Retry-After, never a 500."""

from django.db import OperationalError

from tests.assertions import assert_problem


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
    import psycopg
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
