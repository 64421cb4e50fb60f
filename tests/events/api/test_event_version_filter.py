"""GET /api/v1/payments/{id}/events?version=: only the events of one schema version;
a version that is not a whole number in range is a 400 problem, never a 500."""

import pytest

from events.models import OutboxMessage
from payments.services import payment_approve
from tests.assertions import assert_problem
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_as_v2(settings, alice, bob, acme_eur):
    """A payment submitted (v1) and approved while payments publishes v2."""
    settings.EVENT_VERSIONS = {"PaymentApproved": 2}
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    return payment


@pytest.mark.parametrize(
    ("version", "types"),
    [
        ("1", ["PaymentSubmitted"]),
        ("2", ["PaymentApproved"]),
        ("3", []),
        ("", ["PaymentSubmitted", "PaymentApproved"]),
    ],
)
def test_the_events_filter_by_version(
    client_for, alice, approved_as_v2, version, types
):
    # when
    response = client_for(alice).get(
        f"/api/v1/payments/{approved_as_v2.id}/events", {"version": version}
    )

    # then
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [e["type"] for e in results] == types
    rows = OutboxMessage.objects.filter(subject=str(approved_as_v2.id))
    expected = rows.filter(schema_version=version) if version else rows
    assert {e["id"] for e in results} == {str(r.event_id) for r in expected}
    assert all(e["version"] == int(version) for e in results if version)


@pytest.mark.parametrize("version", ["two", "2.0", "0", "-1", "1_0", "99999999999"])
def test_a_version_that_is_not_one_is_a_400_problem(
    client_for, alice, approved_as_v2, version
):
    # when
    response = client_for(alice).get(
        f"/api/v1/payments/{approved_as_v2.id}/events", {"version": version}
    )

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["version"]


def test_the_version_parameter_is_in_the_openapi_document(client):
    schema = client.get("/api/v1/schema", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/payments/{payment_id}/events"]["get"]
    [version] = [p for p in operation["parameters"] if p["name"] == "version"]
    assert version["in"] == "query"
    assert version["schema"]["type"] == "integer"
    assert "400" in operation["responses"]
