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
