"""Every error is RFC 9457 problem details, and no bad request changes anything."""

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from events.models import OutboxMessage
from payments.models import Payment
from tests.assertions import assert_problem, written_state
from tests.factories import VALID_CREDITOR_IBAN, payment_request_body, payment_submitted

PAYMENTS = "/api/v1/payments"


@pytest.fixture
def pending(alice, bob, acme_eur):
    """A payment by alice awaiting approval (bob exists to approve it)."""
    return payment_submitted(by=alice, account=acme_eur)


# --- 400: bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param('{"amount": ', "malformed-request", id="truncated-json"),
        pytest.param("{'amount': 1}", "malformed-request", id="single-quotes"),
        pytest.param('{"amount": NaN}', "malformed-request", id="nan"),
        pytest.param("[]", "validation-error", id="json-array"),
        pytest.param('[{"amount": 1}]', "validation-error", id="array-of-object"),
        pytest.param('"payment"', "validation-error", id="json-string"),
        pytest.param("42", "validation-error", id="json-number"),
        pytest.param("null", "validation-error", id="json-null"),
        pytest.param("", "validation-error", id="empty-body"),
        pytest.param(b"\xff\xfe{}", "malformed-request", id="not-utf8"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400_problem(
    client_for, alice, acme_eur, raw, code
):
    # given
    before = written_state()

    # when
    response = client_for(alice).post(
        PAYMENTS, data=raw, content_type="application/json"
    )

    # then
    assert_problem(response, 400, code)
    assert written_state() == before


@pytest.mark.parametrize(
    ("raw_amount", "code"),
    [
        ("1e400", "validation-error"),  # a float, and an infinite one
        ("1" + "0" * 5000, "malformed-request"),  # beyond Python's int parsing
        ("12550.0", "validation-error"),
        ("1E4", "validation-error"),
    ],
)
def test_amounts_json_cannot_carry_as_integers_are_refused(
    client_for, alice, acme_eur, raw_amount, code
):
    # given
    body = json.dumps(payment_request_body(acme_eur, amount=0))
    raw = body.replace('"amount": 0', f'"amount": {raw_amount}')
    before = written_state()

    # when
    response = client_for(alice).post(
        PAYMENTS, data=raw, content_type="application/json"
    )

    # then
    assert_problem(response, 400, code)
    assert written_state() == before


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": 125.5}, "validation-error", "amount"),
        ({"amount": 100.0}, "validation-error", "amount"),
        ({"amount": "12550"}, "validation-error", "amount"),
        ({"amount": True}, "validation-error", "amount"),
        ({"amount": False}, "validation-error", "amount"),
        ({"amount": None}, "validation-error", "amount"),
        ({"amount": [12550]}, "validation-error", "amount"),
        ({"amount": {"value": 12550}}, "validation-error", "amount"),
        ({"amount": 0}, "invalid-amount", "amount"),
        ({"amount": -12550}, "invalid-amount", "amount"),
        ({"amount": 10**30}, "invalid-amount", "amount"),
        ({"amount": 2**63}, "invalid-amount", "amount"),
        ({"currency": "XXX"}, "validation-error", "currency"),
        ({"currency": "eur"}, "validation-error", "currency"),
        ({"currency": "EURO"}, "validation-error", "currency"),
        ({"currency": 978}, "validation-error", "currency"),
        ({"currency": "USD"}, "validation-error", "currency"),  # account holds EUR
        ({"debtor_account": "nope"}, "validation-error", "debtor_account"),
        ({"debtor_account": str(uuid.uuid4())}, "account-not-found", "debtor_account"),
        ({"creditor": "Jane"}, "validation-error", "creditor"),
        ({"creditor": None}, "validation-error", "creditor"),
        ({"reference": "x" * 141}, "validation-error", "reference"),
        ({"reference": ["INV-1"]}, "validation-error", "reference"),
    ],
)
def test_an_invalid_field_is_a_400_problem_naming_it(
    client_for, alice, acme_eur, overrides, code, field
):
    # given
    before = written_state()

    # when
    response = client_for(alice).post(
        PAYMENTS, payment_request_body(acme_eur, **overrides), format="json"
    )

    # then
    problem = assert_problem(response, 400, code)
    assert field in problem["errors"]
    assert written_state() == before


@pytest.mark.parametrize(
    ("creditor", "field"),
    [
        ({"name": "Jane", "iban": "DE89370400440532013001"}, "iban"),  # checksum
        ({"name": "Jane", "iban": "DE8937040044053201300"}, "iban"),  # length
        ({"name": "Jane", "iban": "GB82 WEST 1234 5698 7654 33"}, "iban"),
        ({"name": "Jane", "iban": "X" * 43}, "iban"),
        ({"name": "Jane", "iban": ""}, "iban"),
        ({"name": "Jane"}, "iban"),
        ({"name": "x" * 141, "iban": VALID_CREDITOR_IBAN}, "name"),
        ({"name": "   ", "iban": VALID_CREDITOR_IBAN}, "name"),
        ({"name": "Jane\x00Doe", "iban": VALID_CREDITOR_IBAN}, "name"),
    ],
)
def test_an_invalid_creditor_is_a_400_problem_naming_the_field(
    client_for, alice, acme_eur, creditor, field
):
    # given
    before = written_state()

    # when
    response = client_for(alice).post(
        PAYMENTS, payment_request_body(acme_eur, creditor=creditor), format="json"
    )

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert field in problem["errors"]["creditor"]
    assert written_state() == before


def test_an_empty_object_names_every_missing_field(client_for, alice):
    # when
    response = client_for(alice).post(PAYMENTS, {}, format="json")

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert problem["errors"].keys() == {
        "debtor_account",
        "amount",
        "currency",
        "creditor",
    }
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": None}],
)
def test_an_invalid_rejection_reason_is_a_400_problem(client_for, bob, pending, body):
    # given
    before = written_state()

    # when
    response = client_for(bob).post(
        f"{PAYMENTS}/{pending.id}/reject", body, format="json"
    )

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert "reason" in problem["errors"]
    assert written_state() == before


@pytest.mark.parametrize("raw", ["[]", '{"reason": ', '"no"'])
def test_a_rejection_body_that_is_not_an_object_is_a_400_problem(
    client_for, bob, pending, raw
):
    # given
    before = written_state()

    # when
    response = client_for(bob).post(
        f"{PAYMENTS}/{pending.id}/reject", data=raw, content_type="application/json"
    )

    # then
    assert_problem(response, 400)
    assert written_state() == before


submit_bodies = st.dictionaries(
    keys=st.sampled_from(
        ["debtor_account", "amount", "currency", "creditor", "reference", "status"]
    )
    | st.text(max_size=5),
    values=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=200),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=6,
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=submit_bodies)
def test_no_submit_body_produces_a_500(client_for, alice, acme_eur, body):
    # given
    client = client_for(alice)
    payments_before = Payment.objects.count()

    # when
    response = client.post(PAYMENTS, body, format="json")

    # then: a 500 would raise out of the test client
    assert_problem(response, 400)
    assert Payment.objects.count() == payments_before


# --- 401: not authenticated -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", PAYMENTS),
        ("post", PAYMENTS),
        ("get", "/api/v1/accounts"),
        ("get", f"{PAYMENTS}/{{id}}"),
        ("get", f"{PAYMENTS}/{{id}}/events"),
        ("post", f"{PAYMENTS}/{{id}}/approve"),
        ("post", f"{PAYMENTS}/{{id}}/reject"),
        ("post", f"{PAYMENTS}/{{id}}/cancel"),
    ],
)
@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not-authenticated"),
        ("Token 0123456789abcdef0123456789abcdef01234567", "authentication-failed"),
        ("Token", "authentication-failed"),
        ("Token two words", "authentication-failed"),
    ],
)
def test_without_a_valid_token_every_endpoint_is_401_with_www_authenticate(
    pending, method, path, authorization, code
):
    # given
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    before = written_state()

    # when
    response = getattr(client, method)(
        path.format(id=pending.id), {"reason": "x"}, format="json"
    )

    # then
    assert_problem(response, 401, code)
    assert response["WWW-Authenticate"] == "Token"
    assert written_state() == before


# --- 403: not allowed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "method", "path", "code"),
    [
        ("bob", "post", PAYMENTS, "role-required"),  # an approver, not a maker
        ("carol", "post", f"{PAYMENTS}/{{id}}/cancel", "not-submitter"),
        ("bob", "post", f"{PAYMENTS}/{{id}}/cancel", "not-submitter"),
        ("outsider", "get", PAYMENTS, "no-organisation"),
        ("outsider", "get", "/api/v1/accounts", "no-organisation"),
        ("outsider", "post", PAYMENTS, "no-organisation"),
        ("outsider", "get", f"{PAYMENTS}/{{id}}", "no-organisation"),
        ("outsider", "get", f"{PAYMENTS}/{{id}}/events", "no-organisation"),
        ("outsider", "post", f"{PAYMENTS}/{{id}}/approve", "no-organisation"),
    ],
)
def test_a_caller_without_the_right_is_403(
    request, client_for, acme_eur, pending, actor, method, path, code
):
    # given
    client = client_for(request.getfixturevalue(actor))
    before = written_state()

    # when
    response = getattr(client, method)(
        path.format(id=pending.id),
        payment_request_body(acme_eur, reason="Not ours"),
        format="json",
    )

    # then
    assert_problem(response, 403, code)
    assert written_state() == before


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_deciding_on_your_own_payment_is_403_maker_checker(
    client_for, carol, acme_eur, action
):
    # given
    payment = payment_submitted(by=carol, account=acme_eur)
    before = written_state()

    # when
    response = client_for(carol).post(
        f"{PAYMENTS}/{payment.id}/{action}", {"reason": "Mine"}, format="json"
    )

    # then
    assert_problem(response, 403, "maker-checker")
    assert written_state() == before


# --- 404, 405, 409, 415 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "/events"), ("post", "/approve"), ("post", "/cancel")],
)
def test_an_unknown_payment_is_404(client_for, bob, method, suffix):
    # when
    response = getattr(client_for(bob), method)(f"{PAYMENTS}/{uuid.uuid4()}{suffix}")

    # then
    assert_problem(response, 404, "payment-not-found")
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/nowhere", f"{PAYMENTS}/not-a-uuid", f"{PAYMENTS}/1/approve"]
)
def test_an_unknown_url_is_a_404_problem(client_for, alice, path):
    # when
    response = client_for(alice).get(path)

    # then
    assert_problem(response, 404, "not-found")


def test_approving_a_decided_payment_is_409(client_for, alice, bob, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    client_for(alice).post(f"{PAYMENTS}/{payment.id}/cancel")
    before = written_state()

    # when
    response = client_for(bob).post(f"{PAYMENTS}/{payment.id}/approve")

    # then
    assert_problem(response, 409, "payment-not-pending")
    assert written_state() == before


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", f"{PAYMENTS}/{{id}}", "GET"),
        ("patch", f"{PAYMENTS}/{{id}}", "GET"),
        ("delete", f"{PAYMENTS}/{{id}}", "GET"),
        ("delete", PAYMENTS, "GET, POST"),
        ("get", f"{PAYMENTS}/{{id}}/approve", "POST"),
        ("put", f"{PAYMENTS}/{{id}}/cancel", "POST"),
        ("post", f"{PAYMENTS}/{{id}}/events", "GET"),
        ("get", "/api/v1/auth/token", "POST"),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    client_for, bob, pending, method, path, allowed
):
    # given
    before = written_state()

    # when
    response = getattr(client_for(bob), method)(
        path.format(id=pending.id), {"status": "approved"}, format="json"
    )

    # then
    assert_problem(response, 405, "method-not-allowed")
    assert {m.strip() for m in response["Allow"].split(",")} >= set(allowed.split(", "))
    assert written_state() == before


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("amount=12550&currency=EUR", "application/x-www-form-urlencoded"),
        ('{"amount": 12550}', "text/plain"),
        ("<payment/>", "application/xml"),
    ],
)
def test_a_submit_body_that_is_not_json_is_415(
    client_for, alice, acme_eur, data, content_type
):
    # given
    before = written_state()

    # when
    response = client_for(alice).post(PAYMENTS, data=data, content_type=content_type)

    # then
    assert_problem(response, 415, "unsupported-media-type")
    assert written_state() == before


def test_a_multipart_submit_is_415(client_for, alice, acme_eur):
    # when
    response = client_for(alice).post(
        PAYMENTS, {"amount": "12550", "currency": "EUR"}, format="multipart"
    )

    # then
    assert_problem(response, 415, "unsupported-media-type")
    assert not Payment.objects.exists()


def test_a_rejection_that_is_not_json_is_415(client_for, bob, pending):
    # given
    before = written_state()

    # when
    response = client_for(bob).post(
        f"{PAYMENTS}/{pending.id}/reject", data="reason=no", content_type="text/plain"
    )

    # then
    assert_problem(response, 415, "unsupported-media-type")
    assert written_state() == before


def test_json_with_a_charset_is_accepted(client_for, alice, acme_eur):
    # when
    response = client_for(alice).post(
        PAYMENTS,
        data=json.dumps(payment_request_body(acme_eur)),
        content_type="application/json; charset=utf-8",
    )

    # then
    assert response.status_code == 201, response.content
    assert Payment.objects.count() == 1


# --- 422 ---------------------------------------------------------------------------


def test_reusing_an_idempotency_key_for_another_body_is_a_422_problem(
    client_for, alice, acme_eur
):
    # given
    client = client_for(alice)
    client.post(
        PAYMENTS,
        payment_request_body(acme_eur, amount=100),
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    before = written_state()

    # when
    response = client.post(
        PAYMENTS,
        payment_request_body(acme_eur, amount=200),
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    # then
    assert_problem(response, 422, "idempotency-key-mismatch")
    assert written_state() == before


# --- problem types are documented -------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "malformed-request",
        "validation-error",
        "invalid-amount",
        "account-not-found",
        "not-authenticated",
        "authentication-failed",
        "role-required",
        "maker-checker",
        "not-submitter",
        "payment-not-found",
        "payment-not-pending",
        "unsupported-media-type",
        "method-not-allowed",
        "idempotency-key-mismatch",
        "idempotency-key-in-progress",
        "idempotency-key-invalid",
        "rate-limited",
    ],
)
def test_every_problem_type_uri_resolves_to_its_title(client, code):
    # when
    response = client.get(f"/api/v1/problems/{code}")

    # then
    assert response.status_code == 200
    assert response.json()["type"] == f"/api/v1/problems/{code}"
    assert response.json()["title"]


def test_an_unknown_problem_type_is_itself_a_404_problem(client):
    # when
    response = client.get("/api/v1/problems/no-such-problem")

    # then
    assert_problem(response, 404, "not-found")
