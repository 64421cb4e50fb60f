"""Idempotency-Key on every POST: a retry replays the first answer, no second effect."""

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import api.idempotency
import payments.services
from api.idempotency import idempotency_prune
from api.models import IdempotencyKey
from events.models import OutboxMessage
from observability.db_commits import DB_COMMITS
from payments.models import Payment
from tests.assertions import assert_problem, written_state
from tests.factories import payment_request_body, payment_submitted

PAYMENTS = "/api/v1/payments"


def _post(client, body, key, path=PAYMENTS):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_replays_the_first_answer_without_a_second_payment(
    client_for, alice, acme_eur
):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)
    first = _post(client, body, "key-1")

    # when
    retry = _post(client, body, "key-1")

    # then
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Payment.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    stored = IdempotencyKey.objects.get()
    assert (stored.user, stored.key, stored.state) == (alice, "key-1", "completed")
    assert (stored.response_status, stored.response_body) == (201, first.json())


def test_the_same_json_written_differently_is_the_same_request(
    client_for, alice, acme_eur
):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)
    first = _post(client, body, "key-1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)

    # when
    retry = client.post(
        PAYMENTS,
        data=reordered,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    # then
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Payment.objects.count() == 1


def test_a_replay_shows_the_first_answer_even_after_the_payment_moved_on(
    client_for, alice, bob, acme_eur
):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)
    first = _post(client, body, "key-1")
    client_for(bob).post(f"{PAYMENTS}/{first.json()['id']}/approve")

    # when
    retry = _post(client, body, "key-1")

    # then
    assert retry.json()["status"] == "pending_approval"
    assert retry.json() == first.json()
    assert Payment.objects.get().status == "approved"


@pytest.mark.parametrize(
    "second",
    [
        {"amount": 999},  # another body
        {"reference": "INV-2"},
    ],
)
def test_the_same_key_with_a_different_body_is_422(client_for, alice, acme_eur, second):
    # given
    client = client_for(alice)
    first = _post(client, payment_request_body(acme_eur), "key-1")
    before = written_state()

    # when
    response = _post(client, payment_request_body(acme_eur, **second), "key-1")

    # then
    assert_problem(response, 422, "idempotency-key-mismatch")
    assert written_state() == before
    assert IdempotencyKey.objects.get().response_body == first.json()


def test_the_same_key_on_another_path_is_422(client_for, alice, bob, acme_eur):
    # given
    one = payment_submitted(by=alice, account=acme_eur)
    other = payment_submitted(by=alice, account=acme_eur)
    client = client_for(bob)
    _post(client, None, "key-1", f"{PAYMENTS}/{one.id}/approve")
    before = written_state()

    # when
    response = _post(client, None, "key-1", f"{PAYMENTS}/{other.id}/approve")

    # then
    assert_problem(response, 422, "idempotency-key-mismatch")
    assert written_state() == before
    other.refresh_from_db()
    assert other.status == "pending_approval"


def test_a_key_is_scoped_to_its_user(client_for, alice, carol, acme_eur):
    # given
    body = payment_request_body(acme_eur)
    alices = _post(client_for(alice), body, "shared-key")

    # when
    carols = _post(client_for(carol), body, "shared-key")

    # then
    assert carols.status_code == 201
    assert "Idempotent-Replayed" not in carols
    assert carols.json()["id"] != alices.json()["id"]
    assert carols.json()["submitted_by"] == "carol"
    assert Payment.objects.count() == 2
    assert set(IdempotencyKey.objects.values_list("user__username", "key")) == {
        ("alice", "shared-key"),
        ("carol", "shared-key"),
    }


def test_without_a_key_every_post_is_a_new_payment(client_for, alice, acme_eur):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)

    # when
    first = client.post(PAYMENTS, body, format="json")
    second = client.post(PAYMENTS, body, format="json")

    # then
    assert first.json()["id"] != second.json()["id"]
    assert Payment.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_retried_approval_replays_200_without_a_second_event(
    client_for, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    client = client_for(bob)
    url = f"{PAYMENTS}/{payment.id}/approve"
    first = _post(client, None, "approve-1", url)

    # when
    retry = _post(client, None, "approve-1", url)

    # then
    assert first.status_code == retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert OutboxMessage.objects.filter(event_type="PaymentApproved").count() == 1
    payment.refresh_from_db()
    assert payment.version == 2


def test_an_error_releases_the_key_so_a_fixed_retry_succeeds(
    client_for, alice, acme_eur
):
    # given
    client = client_for(alice)
    refused = _post(client, payment_request_body(acme_eur, amount=0), "key-1")

    # when
    fixed = _post(client, payment_request_body(acme_eur, amount=100), "key-1")

    # then
    assert_problem(refused, 400, "invalid-amount")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
    assert Payment.objects.get().amount == 100
    stored = IdempotencyKey.objects.get()
    assert (stored.state, stored.response_status) == ("completed", 201)


def test_a_refused_command_keeps_no_key(client_for, alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    client_for(alice).post(f"{PAYMENTS}/{payment.id}/cancel")

    # when
    response = _post(client_for(bob), None, "key-1", f"{PAYMENTS}/{payment.id}/approve")

    # then
    assert_problem(response, 409, "payment-not-pending")
    assert not IdempotencyKey.objects.exists()


def test_a_request_that_dies_leaves_no_claim_so_a_retry_runs_at_once(
    monkeypatch, client_for, alice, acme_eur
):
    # given: the process dies mid-command (no answer, no except clause runs)
    client = client_for(alice)
    body = payment_request_body(acme_eur)

    def crash(**kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(payments.services, "payment_submit", crash)
        with pytest.raises(SystemExit):
            _post(client, body, "key-1")

    # then: the claim rolled back with the request's transaction
    assert not IdempotencyKey.objects.exists()

    # when: the client retries at once
    retry = _post(client, body, "key-1")

    # then
    assert retry.status_code == 201, retry.content
    assert "Idempotent-Replayed" not in retry
    assert Payment.objects.count() == 1
    assert IdempotencyKey.objects.get().state == "completed"


def _claim_of_an_older_release(user, body, key, *, lease_left: timedelta):
    """A claim committed on its own, as releases before ADR 0024 did, whose
    request is still running (lease left) or died (lease over)."""
    request = SimpleNamespace(
        _request=SimpleNamespace(body=json.dumps(body).encode()),
        method="POST",
        path=PAYMENTS,
    )
    return IdempotencyKey.objects.create(
        user=user,
        key=key,
        fingerprint=api.idempotency._fingerprint(request),
        state="in_progress",
        claim_token=uuid.uuid4(),
        locked_until=timezone.now() + lease_left,
    )


def test_an_older_release_claim_within_its_lease_blocks_a_retry(
    client_for, alice, acme_eur
):
    # given
    body = payment_request_body(acme_eur)
    claim = _claim_of_an_older_release(
        alice, body, "key-1", lease_left=timedelta(seconds=10)
    )

    # when
    response = _post(client_for(alice), body, "key-1")

    # then
    assert_problem(response, 409, "idempotency-key-in-progress")
    assert not Payment.objects.exists()
    assert IdempotencyKey.objects.get().claim_token == claim.claim_token


def test_an_older_release_claim_past_its_lease_is_cleared_and_the_retry_runs(
    client_for, alice, acme_eur
):
    # given
    body = payment_request_body(acme_eur)
    claim = _claim_of_an_older_release(
        alice, body, "key-1", lease_left=timedelta(seconds=-1)
    )

    # when
    response = _post(client_for(alice), body, "key-1")

    # then
    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response
    assert Payment.objects.count() == 1
    stored = IdempotencyKey.objects.get()
    assert stored.state == "completed"
    assert stored.claim_token != claim.claim_token
    assert stored.response_body == response.json()


def test_an_older_release_stale_claim_is_still_refused_for_a_different_body(
    client_for, alice, acme_eur
):
    # given
    _claim_of_an_older_release(
        alice, payment_request_body(acme_eur), "key-1", lease_left=timedelta(0)
    )

    # when
    response = _post(
        client_for(alice), payment_request_body(acme_eur, amount=1), "key-1"
    )

    # then
    assert_problem(response, 422, "idempotency-key-mismatch")
    assert not Payment.objects.exists()
    assert IdempotencyKey.objects.get().state == "in_progress"


@pytest.mark.parametrize("key", ["k" * 256, "", "tab\there", "new\x7fline"])
def test_an_invalid_key_is_a_400_problem(client_for, alice, acme_eur, key):
    # given
    before = written_state()

    # when
    response = _post(client_for(alice), payment_request_body(acme_eur), key)

    # then
    assert_problem(response, 400, "idempotency-key-invalid")
    assert written_state() == before


def test_a_key_of_255_characters_is_accepted(client_for, alice, acme_eur):
    # when
    response = _post(client_for(alice), payment_request_body(acme_eur), "k" * 255)

    # then
    assert response.status_code == 201
    assert IdempotencyKey.objects.get().key == "k" * 255


def test_prune_keeps_young_keys_and_removes_old_completed_ones(alice):
    # given
    now = timezone.now()
    ages = {"young": timedelta(hours=23, minutes=59), "old": timedelta(hours=25)}
    for name, age in ages.items():
        IdempotencyKey.objects.create(
            user=alice,
            key=name,
            fingerprint="0" * 64,
            state=IdempotencyKey.State.COMPLETED,
            locked_until=now,
            response_status=201,
            response_body={},
        )
        IdempotencyKey.objects.filter(key=name).update(created_at=now - age)

    # when
    deleted = idempotency_prune()

    # then
    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]


def test_a_pruned_key_no_longer_replays(client_for, alice, acme_eur):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)
    _post(client, body, "key-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    idempotency_prune()

    # when
    again = _post(client, body, "key-1")

    # then
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Payment.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_keyed_approval_is_one_transaction_that_claims_the_key_first(
    client_for, alice, bob, acme_eur
):
    # given: no transaction open, as in a request
    payment = payment_submitted(by=alice, account=acme_eur)
    client = client_for(bob)
    commits = DB_COMMITS._value.get()

    # when
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, None, "key-1", f"{PAYMENTS}/{payment.id}/approve")

    # then: one transaction, one commit; the token's query (which brings the
    # membership) inside it, then the claim, with no savepoint anywhere
    assert response.status_code == 200, response.content
    sql = [q["sql"] for q in queries.captured_queries]
    assert [s.split()[0] for s in sql] == [
        "BEGIN",
        "SELECT",  # token, user and membership
        "INSERT",  # the key's claim
        "SELECT",  # the payment, locked
        "UPDATE",  # the payment
        "INSERT",  # its outbox row
        "UPDATE",  # the key's answer
        "COMMIT",
    ]
    assert DB_COMMITS._value.get() - commits == 1
    assert '"organisations_membership"' in sql[1]
    assert '"api_idempotencykey"' in sql[2]
    stored = IdempotencyKey.objects.get()
    assert (stored.state, stored.response_body) == ("completed", response.json())
    assert OutboxMessage.objects.filter(event_type="PaymentApproved").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_keyed_retry_finds_the_key_taken_and_replays_in_the_same_transaction(
    client_for, alice, bob, acme_eur
):
    # given: an approval answered under the key
    payment = payment_submitted(by=alice, account=acme_eur)
    client = client_for(bob)
    first = _post(client, None, "key-1", f"{PAYMENTS}/{payment.id}/approve")
    commits = DB_COMMITS._value.get()

    # when: it is retried
    with CaptureQueriesContext(connection) as queries:
        again = _post(client, None, "key-1", f"{PAYMENTS}/{payment.id}/approve")

    # then: the taken key is no error that would spoil the transaction: the
    # claim inserts nothing, the row is read and replayed, one commit in all
    assert (again.status_code, again.json()) == (200, first.json())
    assert again["Idempotent-Replayed"] == "true"
    sql = [q["sql"].split()[0] for q in queries.captured_queries]
    assert sql == ["BEGIN", "SELECT", "INSERT", "SELECT", "COMMIT"]
    assert DB_COMMITS._value.get() - commits == 1
    assert OutboxMessage.objects.filter(event_type="PaymentApproved").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_keyed_command_rolls_back_everything_it_did(
    client_for, alice, acme_eur
):
    # given: the maker, who may not approve her own payment
    payment = payment_submitted(by=alice, account=acme_eur)
    client = client_for(alice)

    # when
    refused = _post(client, None, "key-1", f"{PAYMENTS}/{payment.id}/approve")

    # then: no claim, no change, no event, and the key is free for a retry
    assert refused.status_code == 403, refused.content
    assert not IdempotencyKey.objects.exists()
    payment.refresh_from_db()
    assert payment.status == "pending_approval"
    assert not OutboxMessage.objects.filter(event_type="PaymentApproved").exists()


def test_the_claim_tells_a_new_key_from_a_taken_one_even_without_returning(
    monkeypatch, client_for, alice, acme_eur
):
    # given: on SQLite, one before 3.35 (RHEL 9's 3.34), which has no
    # RETURNING; PostgreSQL always has it, and takes its usual path
    if connection.vendor == "sqlite":
        monkeypatch.setattr(
            connection.features, "can_return_columns_from_insert", False
        )
    client = client_for(alice)
    body = payment_request_body(acme_eur)

    # when: a key, its retry, and another key
    first = _post(client, body, "key-1")
    retry = _post(client, body, "key-1")
    other = _post(client, body, "key-2")

    # then: the claim saw the new keys and the taken one
    assert (first.status_code, other.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Payment.objects.count() == 2
    assert set(IdempotencyKey.objects.values_list("key", "state")) == {
        ("key-1", "completed"),
        ("key-2", "completed"),
    }
