"""Hostile input to every list and every command: a 4xx problem, never a 500, and
nothing written (no payment, outbox row, idempotency key, switch flipped).

The endpoints are discovered (cursor lists from the OpenAPI document, POSTs from
the URLconf), so a new one is covered without editing this file.
"""

import base64
import json
import re
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.parsers import JSONParser
from rest_framework.test import APIClient
from rest_framework.views import APIView

from events.models import ConsumerState, OutboxMessage, RelayState
from payments.models import Payment
from settlement.receiving import settlement_file_receive
from tests.assertions import assert_problem, written_state
from tests.factories import (
    VALID_CREDITOR_IBAN,
    payment_request_body,
    payment_submitted,
)

pytestmark = pytest.mark.django_db

# Bodies whose reading must not recurse as deep as the attacker likes.
NESTED = {
    "arrays-5000": "[" * 5000 + "]" * 5000,
    "objects-5000": '{"a":' * 5000 + "1" + "}" * 5000,
    "creditor-5000": '{"creditor": {"name": ' + "[" * 5000 + "]" * 5000 + "}}",
    "arrays-100": "[" * 100 + "]" * 100,  # parses, but deeper than any command needs
}


def _cursor(**tokens: str) -> str:
    """Encode a cursor as DRF does: base64 of a query string (o, r, p)."""
    return base64.b64encode(urlencode(tokens).encode()).decode()


BAD_CURSORS = {
    "position-not-a-time": _cursor(p="abc"),
    "month-13": _cursor(p="2026-13-99"),
    "empty-position": _cursor(p=""),
    "naive-position": _cursor(p="2026-01-01 00:00:00"),
    "nul-position": _cursor(p="2026-01-01 00:00:00+00:00\x00"),
    "offset-over-a-day": _cursor(p="2026-01-01 00:00:00+99:00"),
    "year-one-east-of-utc": _cursor(p="0001-01-01 00:00:00+01:00"),
    "year-9999-west-of-utc": _cursor(p="9999-12-31 23:59:59-01:00"),
    "offset-not-a-number": _cursor(o="x", p="2026-01-01 00:00:00+00:00"),
    "reverse-not-a-number": _cursor(r="x"),
    "bad-base64-padding": "bm9uc2Vuc2U",
    "not-ascii": "é",
    "base64-of-binary": base64.b64encode(b"\xff\xfe\x00").decode(),
}


def everything_written() -> dict:
    """What any command could change, fault controls' switches included."""
    return {
        **written_state(),
        "consumer_switches": list(ConsumerState.objects.values("consumer", "paused")),
        "relay_switch": list(RelayState.objects.values("paused")),
    }


# --- cursor lists ------------------------------------------------------------------


@pytest.fixture(scope="module")
def cursor_lists(django_db_blocker) -> list[str]:
    with django_db_blocker.unblock():
        schema = APIClient().get("/api/v1/schema", {"format": "json"}).json()
    found = [
        path
        for path, operations in schema["paths"].items()
        if any(
            p["name"] == "cursor"
            for p in operations.get("get", {}).get("parameters", [])
        )
    ]
    assert "/api/v1/payments" in found  # discovery works
    return found


# Lists that page in an order of their own, not by time, and a position such a
# list gives out; every other list is newest first, by time.
IN_ORDER_POSITIONS = {
    "/api/v1/settlement-files/{file_id}/lines": "0",
    "/api/v1/settlement-lines": "0",
}


@pytest.fixture
def path_values(alice, acme):
    """Values for the lists' path parameters: objects of alice's organisation."""
    file, _ = settlement_file_receive(
        organisation_id=acme.id,
        data=b"<Document/>",
        content_type="application/xml",
        source="upload",
    )
    return {"file_id": file.id}


def _list_url(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: str(values[match.group(1)]), path)


def test_every_cursor_list_is_covered(cursor_lists):
    # then: the four lists this file was written against, and no fewer
    assert set(cursor_lists) >= {
        "/api/v1/payments",
        "/api/v1/ledger/entries",
        "/api/v1/notifications",
        "/api/v1/reconciliation/expectations",
        "/api/v1/settlement-files",
        "/api/v1/settlement-files/{file_id}/lines",
        "/api/v1/settlement-lines",
    }


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_tampered_cursor_is_a_400_problem_naming_it_on_every_list(
    client_for, alice, acme_eur, cursor_lists, path_values, cursor
):
    # given
    payment_submitted(by=alice, account=acme_eur)
    client = client_for(alice)
    before = everything_written()

    for path in cursor_lists:
        # when
        response = client.get(_list_url(path, path_values), {"cursor": cursor})

        # then
        problem = assert_problem(response, 400, "validation-error")
        assert list(problem["errors"]) == ["cursor"], path
    assert everything_written() == before


def test_a_cursor_these_lists_could_have_given_out_still_pages(
    client_for, alice, acme_eur, cursor_lists, path_values
):
    # given: a position later than the only payment, as a `next` link holds one
    payment = payment_submitted(by=alice, account=acme_eur)
    cursor = _cursor(p=str(timezone.now() + timedelta(seconds=1)))

    for path in cursor_lists:
        # when
        position = IN_ORDER_POSITIONS.get(path)
        given_out = cursor if position is None else _cursor(p=position)
        response = client_for(alice).get(
            _list_url(path, path_values), {"cursor": given_out}
        )

        # then
        assert response.status_code == 200, (path, response.content)
    page = client_for(alice).get("/api/v1/payments", {"cursor": cursor}).json()
    assert [p["id"] for p in page["results"]] == [str(payment.id)]


# --- deeply nested JSON, on every POST ---------------------------------------------


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def _post_routes(*, reads_json: bool) -> list[str]:
    """Every DRF endpoint that answers POST, as a route with <converters>.

    Those whose parsers read JSON (the commands, the controls), or those whose
    do not (a file upload takes the file's own bytes).
    """
    return sorted(
        route
        for route, callback in _routes(get_resolver().url_patterns)
        if isinstance(cls := getattr(callback, "cls", None), type)
        and issubclass(cls, APIView)
        and hasattr(cls, "post")
        and any(isinstance(p, JSONParser) for p in cls().get_parsers()) == reads_json
    )


POST_ROUTES = _post_routes(reads_json=True)
FILE_POST_ROUTES = _post_routes(reads_json=False)


def _url(route: str, payment) -> str:
    event = OutboxMessage.objects.get(subject=str(payment.id))
    values = {
        "payment_id": payment.id,
        "event_id": event.event_id,
        "name": "ledger",
        "event_type": "PaymentApproved",
        # The JSON is refused before any file is looked up.
        "file_id": uuid.uuid4(),
    }
    return "/" + re.sub(
        r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), route
    )


def test_every_post_endpoint_is_covered():
    # then: the commands, the fault controls and the lab's, and the token
    assert len(POST_ROUTES) >= 18, POST_ROUTES
    assert {
        "api/v1/payments",
        "api/v1/payments/<uuid:payment_id>/approve",
        "api/v1/relay/pause",
        "api/v1/auth/token",
        "lab/payments",
    } <= set(POST_ROUTES)
    assert FILE_POST_ROUTES == ["api/v1/settlement-files"]


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
@pytest.mark.parametrize("route", FILE_POST_ROUTES)
def test_json_to_an_endpoint_that_takes_a_file_is_a_415_problem(
    client_for, bob, route, body
):
    # given
    before = everything_written()

    # when
    response = client_for(bob).post(
        "/" + route,
        data=body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    # then: the body is not read as JSON at all
    assert_problem(response, 415)
    assert everything_written() == before


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
@pytest.mark.parametrize("route", POST_ROUTES)
def test_deeply_nested_json_with_an_idempotency_key_is_a_400_problem(
    settings, client_for, alice, bob, acme_eur, route, body
):
    # given: demo mode, so the fault controls and the lab answer at all
    settings.DEMO_MODE = True
    payment = payment_submitted(by=alice, account=acme_eur)
    before = everything_written()

    # when
    response = client_for(bob).post(
        _url(route, payment),
        data=body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    # then
    problem = assert_problem(response, 400, "malformed-request")
    assert "nested" in problem["detail"]
    assert everything_written() == before


BODY_READERS = [
    ("alice", "/api/v1/payments"),
    ("bob", "/api/v1/payments/{id}/reject"),
    ("bob", "/api/v1/payments/{id}/deliver-reversed"),
    ("bob", "/api/v1/consumers/ledger/dead-letters/redrive"),
    ("bob", "/api/v1/auth/token"),
]


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
@pytest.mark.parametrize(("actor", "path"), BODY_READERS)
def test_deeply_nested_json_without_a_key_is_refused_by_the_parser(
    request, settings, client_for, alice, acme_eur, actor, path, body
):
    # given
    settings.DEMO_MODE = True
    payment = payment_submitted(by=alice, account=acme_eur)
    before = everything_written()

    # when
    response = client_for(request.getfixturevalue(actor)).post(
        path.format(id=payment.id), data=body, content_type="application/json"
    )

    # then
    problem = assert_problem(response, 400, "malformed-request")
    assert "nested" in problem["detail"]
    assert everything_written() == before


def test_json_as_deep_as_a_command_needs_is_still_accepted(client_for, alice, acme_eur):
    # given: a submit body nests two levels; the limit leaves plenty of room
    body = payment_request_body(acme_eur)

    # when
    response = client_for(alice).post(
        "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    # then
    assert response.status_code == 201, response.content
    assert Payment.objects.count() == 1


# --- body size ---------------------------------------------------------------------


def _padded_submit(account, size: int) -> str:
    body = json.dumps(payment_request_body(account, reference=""))
    return body[:-1] + ', "pad": "' + "x" * (size - len(body) - 11) + '"}'


@pytest.mark.parametrize("with_key", [True, False], ids=["with-key", "without-key"])
def test_a_body_over_the_limit_is_a_413_problem_and_writes_nothing(
    settings, client_for, alice, acme_eur, with_key
):
    # given
    settings.MAX_REQUEST_BODY_BYTES = 4096
    body = _padded_submit(acme_eur, 4097)
    assert len(body.encode()) == 4097
    headers = {"HTTP_IDEMPOTENCY_KEY": "big-1"} if with_key else {}
    before = everything_written()

    # when
    response = client_for(alice).post(
        "/api/v1/payments", data=body, content_type="application/json", **headers
    )

    # then
    problem = assert_problem(response, 413, "payload-too-large")
    assert "4096" in problem["detail"]
    assert everything_written() == before


def test_a_body_at_the_limit_is_read(settings, client_for, alice, acme_eur):
    # given
    settings.MAX_REQUEST_BODY_BYTES = 4096
    body = _padded_submit(acme_eur, 4096)

    # when
    response = client_for(alice).post(
        "/api/v1/payments", data=body, content_type="application/json"
    )

    # then: the unknown field is ignored, the payment made
    assert response.status_code == 201, response.content
    assert Payment.objects.count() == 1


def test_an_oversized_token_request_is_a_413_problem(settings, alice):
    # given
    settings.MAX_REQUEST_BODY_BYTES = 1024

    # when
    response = APIClient().post(
        "/api/v1/auth/token",
        {"username": "alice", "password": "x" * 2000},
        format="json",
    )

    # then
    assert_problem(response, 413, "payload-too-large")


def test_the_problem_type_of_a_413_is_documented(client):
    # when
    response = client.get("/api/v1/problems/payload-too-large")

    # then
    assert response.status_code == 200
    assert response.json()["title"]


# --- control and invisible characters in free text ---------------------------------

# Each inside the text: whitespace at either end is trimmed before any check.
HIDDEN = {
    "header-injection": "Acme\nBcc: x@example.org",
    "carriage-return": "Acme\rLtd",
    "tab": "Acme\tLtd",
    "nul": "Acme\x00Ltd",
    "delete": "Acme\x7fLtd",
    "c1-next-line": "Acme\x85Ltd",
    "c1-csi": "Acme\x9b31mLtd",
    "bidi-override": "Acme \u202egnp.exe",
    "bidi-isolate": "Acme \u2066Ltd\u2069",
    "zero-width-space": "Ac\u200bme",
    "zero-width-joiner": "Ac\u200dme",
    "byte-order-mark": "Ac\ufeffme",
    "soft-hyphen": "Ac\u00adme",
    "tag-character": "Acme\U000e0041",
    "line-separator": "Acme\u2028Bcc: x@example.org",
    "lone-surrogate": "Acme\ud800",
}
VISIBLE = [
    "Müller & Söhne GmbH",
    "Zoë O'Brien-Smith",
    "株式会社テスト",
    "Ελληνικά",
    "Café №1 (Ünïcödé) — 50% off!",
    "Plant Shop 🌱",
]


def _post_json(client, path, body, **headers):
    # json.dumps escapes a lone surrogate, as a hostile client's JSON would.
    return client.post(
        path, data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.parametrize("text", HIDDEN.values(), ids=HIDDEN.keys())
@pytest.mark.parametrize("field", ["name", "reference"])
def test_hidden_characters_in_a_submit_are_a_400_naming_the_field(
    client_for, alice, acme_eur, field, text
):
    # given
    if field == "name":
        body = payment_request_body(
            acme_eur, creditor={"name": text, "iban": VALID_CREDITOR_IBAN}
        )
    else:
        body = payment_request_body(acme_eur, reference=text)
    before = everything_written()

    # when
    response = _post_json(
        client_for(alice), "/api/v1/payments", body, HTTP_IDEMPOTENCY_KEY="k1"
    )

    # then
    problem = assert_problem(response, 400, "validation-error")
    errors = problem["errors"]["creditor"] if field == "name" else problem["errors"]
    assert list(errors) == [field]
    assert everything_written() == before


@pytest.mark.parametrize("text", HIDDEN.values(), ids=HIDDEN.keys())
def test_hidden_characters_in_a_rejection_reason_are_a_400_naming_it(
    client_for, alice, bob, acme_eur, text
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    before = everything_written()

    # when
    response = _post_json(
        client_for(bob),
        f"/api/v1/payments/{payment.id}/reject",
        {"reason": text},
        HTTP_IDEMPOTENCY_KEY="k1",
    )

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["reason"]
    assert everything_written() == before


def test_the_refusal_says_which_character_and_where(client_for, alice, acme_eur):
    # when
    response = _post_json(
        client_for(alice),
        "/api/v1/payments",
        payment_request_body(acme_eur, reference="INV\u202e1"),
    )

    # then
    message = assert_problem(response, 400)["errors"]["reference"][0]
    assert "U+202E" in message
    assert "character 4" in message


@pytest.mark.parametrize("name", VISIBLE)
def test_visible_text_in_any_script_is_accepted(client_for, alice, acme_eur, name):
    # when
    response = _post_json(
        client_for(alice),
        "/api/v1/payments",
        payment_request_body(
            acme_eur,
            creditor={"name": name, "iban": VALID_CREDITOR_IBAN},
            reference=name,
        ),
    )

    # then
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert (payment.creditor_name, payment.reference) == (name, name)


def test_whitespace_around_a_name_is_trimmed_not_refused(client_for, alice, acme_eur):
    # when
    response = _post_json(
        client_for(alice),
        "/api/v1/payments",
        payment_request_body(
            acme_eur, creditor={"name": "\tAcme Ltd\r\n", "iban": VALID_CREDITOR_IBAN}
        ),
    )

    # then
    assert response.status_code == 201, response.content
    assert Payment.objects.get().creditor_name == "Acme Ltd"
