"""Every event says why it was published: correlation and causation ids."""

import uuid

import pytest

from events.models import OutboxMessage
from events.worker import periodic_guarded
from observability.cause import Cause, cause_current, caused_by
from settlement.receiving import settlement_file_receive
from tests.factories import payment_submitted
from tests.settlement.test_processing import (
    approved,
    debit,
    deliver_subject,
    statement,
    v2_and_store,  # noqa: F401 - the fixture: PaymentApproved v2, a private store
)

pytestmark = pytest.mark.django_db


def _event(subject: str, event_type: str) -> dict:
    return OutboxMessage.objects.get(subject=subject, event_type=event_type).envelope


def test_an_approval_is_caused_by_its_request_whose_id_comes_back(
    client_for, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when: approved with the caller's request id
    response = client_for(bob).post(
        f"/api/v1/payments/{payment.id}/approve", HTTP_X_REQUEST_ID="req-42.a"
    )

    # then: the event is correlated with and caused by that request
    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == "req-42.a"
    event = _event(str(payment.id), "PaymentApproved")
    assert (event["correlationid"], event["causationid"]) == ("req-42.a", "req-42.a")


def test_a_request_id_that_is_not_a_plain_token_is_replaced(
    client_for, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)

    # when
    response = client_for(bob).post(
        f"/api/v1/payments/{payment.id}/approve",
        HTTP_X_REQUEST_ID="<script>" + "x" * 300,
    )

    # then: a fresh id, echoed and stamped
    request_id = response["X-Request-ID"]
    assert uuid.UUID(request_id)
    event = _event(str(payment.id), "PaymentApproved")
    assert event["correlationid"] == event["causationid"] == request_id


def test_an_event_published_while_applying_another_is_caused_by_it(
    alice, bob, acme_eur
):
    # given: an approved payment the settlement has seen, and a statement
    # received in a request whose id is "req-7"
    paid = approved(alice, bob, acme_eur, amount=12550)
    with caused_by(Cause(correlation_id="req-7", causation_id="req-7")):
        settlement_file, _ = settlement_file_receive(
            organisation_id=acme_eur.organisation_id,
            data=statement(acme_eur, debit(paid)),
            content_type="application/xml",
            source="upload",
        )
    subject = f"settlement-file/{settlement_file.id}"

    # when: the settlement consumer applies SettlementFileReceived
    assert deliver_subject(subject) == ["applied"]

    # then: PaymentSettled is caused by that event, in the request's story
    received = _event(subject, "SettlementFileReceived")
    settled = OutboxMessage.objects.get(event_type="PaymentSettled").envelope
    assert settled["data"]["payment_id"] == str(paid.id)
    assert settled["causationid"] == received["id"]
    assert settled["correlationid"] == received["correlationid"] == "req-7"


def test_an_event_with_no_correlation_id_starts_one_with_its_own_id():
    # given: an event published outside any request (a test, a shell)
    envelope = {"id": "e-1", "subject": "p-1", "correlationid": None}

    # when
    cause = Cause.of_event("settlement", envelope)

    # then
    assert (cause.correlation_id, cause.causation_id) == ("e-1", "e-1")


def test_each_run_of_a_periodic_job_is_its_own_cause():
    # given
    seen = []

    # when: a worker's job runs twice
    periodic_guarded(lambda: seen.append(cause_current()))
    periodic_guarded(lambda: seen.append(cause_current()))

    # then: each run has a fresh id, as both correlation and causation
    first, second = seen
    assert first.correlation_id == first.causation_id
    assert uuid.UUID(first.correlation_id) != uuid.UUID(second.correlation_id)
    assert cause_current() is None
