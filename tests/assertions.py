"""Assertions shared by the API and service tests: problem details, nothing written."""

from api.models import IdempotencyKey
from events.models import OutboxMessage
from payments.models import Payment

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """Assert an RFC 9457 problem response with the status (and code); return it."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"] == f"/api/v1/problems/{body['code']}"
    assert body["title"]
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


def written_state() -> dict:
    """Everything a command could write: compare before and after a refusal."""
    return {
        "payments": list(Payment.objects.order_by("id").values()),
        "outbox": list(
            OutboxMessage.objects.order_by("id").values_list("event_id", flat=True)
        ),
        "idempotency_keys": list(IdempotencyKey.objects.order_by("id").values()),
    }
