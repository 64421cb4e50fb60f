"""Fault controls when the broker is unreachable: 503 problem details, never a 500."""

from events.models import ConsumerState
from tests.assertions import assert_problem


def test_redrive_answers_503_when_the_broker_is_down(demo, settings, client_for, bob):
    # given: the broker URL points at a closed port
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    # when
    response = client_for(bob).post(
        "/api/v1/consumers/ledger/dead-letters/redrive", {}, format="json"
    )

    # then: a clear 503, and nothing recorded as changed
    body = assert_problem(response, 503, "broker-unavailable")
    assert "Nothing was moved" in body["detail"]
    assert not ConsumerState.objects.exists()
