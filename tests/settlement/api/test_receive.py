"""POST /api/v1/settlement-files: a raw body or a form, approvers only, once per
content."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from events.models import OutboxMessage
from settlement.models import SettlementFile
from tests.assertions import assert_problem
from tests.settlement.conftest import received_state, statement

pytestmark = pytest.mark.django_db

URL = "/api/v1/settlement-files"
NOTHING = {"files": [], "outbox": [], "blobs": []}


def post_raw(client, data: bytes, content_type="application/xml", **extra):
    return client.post(URL, data=data, content_type=content_type, **extra)


def test_a_raw_statement_is_received_201_then_200_with_the_same_id(
    client_for, store_dir, bob
):
    # given
    data = statement()
    client = client_for(bob)

    # when
    first = post_raw(client, data)
    again = post_raw(client, data)

    # then
    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    body = first.json()
    file = SettlementFile.objects.get()
    assert body == {
        "id": str(file.id),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "content_type": "application/xml",
        "source": "upload",
        "original_name": None,
        "received_at": body["received_at"],
        "status": "received",
        "rejection_reason": "",
        "outcome_counts": {
            "matched": 0,
            "amount_mismatch": 0,
            "unknown_payment": 0,
            "duplicate": 0,
            "not_a_payment": 0,
        },
        "processed_at": None,
    }
    assert file.received_by == bob
    assert OutboxMessage.objects.get().subject == f"settlement-file/{file.id}"


def test_text_xml_with_a_charset_is_received(client_for, store_dir, bob):
    # when
    response = post_raw(client_for(bob), statement(), "text/xml; charset=utf-8")

    # then
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "text/xml"


def test_a_form_with_the_file_as_its_file_part_is_received(client_for, store_dir, bob):
    # given
    data = statement()
    upload = SimpleUploadedFile("camt053_2026-12-04.xml", data, "application/xml")

    # when
    response = client_for(bob).post(URL, {"file": upload}, format="multipart")

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "camt053_2026-12-04.xml"
    assert body["size"] == len(data)
    assert SettlementFile.objects.get().sha256 == hashlib.sha256(data).hexdigest()
    assert OutboxMessage.objects.count() == 1


def test_a_form_and_a_raw_body_of_the_same_bytes_are_one_file(
    client_for, store_dir, bob
):
    # given
    raw = post_raw(client_for(bob), statement())
    upload = SimpleUploadedFile("again.xml", statement(), "text/xml")

    # when
    form = client_for(bob).post(URL, {"file": upload}, format="multipart")

    # then
    assert (raw.status_code, form.status_code) == (201, 200)
    assert form.json()["id"] == raw.json()["id"]
    assert OutboxMessage.objects.count() == 1


def test_a_file_over_the_request_limit_of_commands_is_still_received(
    settings, client_for, store_dir, bob
):
    # given: a statement bigger than any JSON command may be
    settings.MAX_REQUEST_BODY_BYTES = 4096
    data = statement() + b"<!--" + b"x" * 10_000 + b"-->"

    # when
    response = post_raw(client_for(bob), data)

    # then
    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(data)


def test_the_larger_limit_is_this_endpoints_alone(settings, client_for, alice):
    # given
    settings.MAX_REQUEST_BODY_BYTES = 4096

    # when: the same size to a payment command
    response = client_for(alice).post(
        "/api/v1/payments",
        data=b"{" + b" " * 5000 + b"}",
        content_type="application/json",
    )

    # then
    assert_problem(response, 413, "payload-too-large")


# --- refusals: a problem, and nothing stored, recorded or announced ----------------


def test_an_empty_body_is_a_400_empty_file(client_for, store_dir, bob):
    # when
    response = post_raw(client_for(bob), b"")

    # then
    assert_problem(response, 400, "empty-file")
    assert received_state(store_dir) == NOTHING


def test_an_empty_file_part_is_a_400_empty_file(client_for, store_dir, bob):
    # given
    upload = SimpleUploadedFile("empty.xml", b"", "application/xml")

    # when
    response = client_for(bob).post(URL, {"file": upload}, format="multipart")

    # then
    assert_problem(response, 400, "empty-file")
    assert received_state(store_dir) == NOTHING


def test_a_form_without_a_file_part_is_a_400_naming_it(client_for, store_dir, bob):
    # when
    response = client_for(bob).post(URL, {"statement": "x"}, format="multipart")

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["file"]
    assert received_state(store_dir) == NOTHING


def test_a_form_whose_boundary_is_broken_is_a_400_that_says_so(
    client_for, store_dir, bob
):
    # when: a NUL in the boundary, which the multipart parser refuses
    response = client_for(bob).generic(
        "POST",
        URL,
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x\x00",
    )

    # then
    problem = assert_problem(response, 400, "malformed-request")
    assert problem["title"] == "The request body cannot be read"
    assert "multipart" in problem["detail"].lower()
    assert received_state(store_dir) == NOTHING


def test_a_file_over_the_settlement_limit_is_a_413_and_is_not_stored(
    settings, client_for, store_dir, bob
):
    # given: over the file limit, within the request's (which leaves room
    # for a form's framing)
    settings.SETTLEMENT_FILE_MAX_BYTES = 1024
    data = b"<a>" + b"x" * 1100 + b"</a>"

    # when
    response = post_raw(client_for(bob), data)

    # then
    problem = assert_problem(response, 413, "settlement-file-too-large")
    assert "1024" in problem["detail"]
    assert received_state(store_dir) == NOTHING


def test_a_file_part_over_the_settlement_limit_is_a_413(
    settings, client_for, store_dir, bob
):
    # given
    settings.SETTLEMENT_FILE_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.xml", b"x" * 1025, "application/xml")

    # when
    response = client_for(bob).post(URL, {"file": upload}, format="multipart")

    # then
    assert_problem(response, 413, "settlement-file-too-large")
    assert received_state(store_dir) == NOTHING


def test_a_body_beyond_what_the_endpoint_takes_is_refused_before_it_is_read(
    settings, client_for, store_dir, bob, monkeypatch
):
    # given: a body larger than a file plus a form's framing
    settings.SETTLEMENT_FILE_MAX_BYTES = 1024
    settings.MAX_REQUEST_BODY_BYTES = 1024
    read = []
    monkeypatch.setattr(
        "settlement.api.parsers.RawBodyParser.parse",
        lambda *args, **kwargs: read.append(1) or b"",
    )

    # when
    response = post_raw(client_for(bob), b"x" * 2049)

    # then: the middleware's 413, naming the endpoint's own limit
    problem = assert_problem(response, 413, "payload-too-large")
    assert "2048" in problem["detail"]
    assert read == []
    assert received_state(store_dir) == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/pdf", "text/plain", "application/xml-dtd"],
)
def test_a_body_that_is_not_xml_is_a_415(client_for, store_dir, bob, content_type):
    # when
    response = post_raw(client_for(bob), b'{"statement": 1}', content_type)

    # then
    problem = assert_problem(response, 415, "unsupported-file-type")
    assert content_type in problem["detail"]
    assert received_state(store_dir) == NOTHING


def test_a_file_part_that_is_not_xml_is_a_415(client_for, store_dir, bob):
    # given: what curl sends for `-F file=@statement.xml` without `;type=`
    upload = SimpleUploadedFile(
        "statement.xml", statement(), "application/octet-stream"
    )

    # when
    response = client_for(bob).post(URL, {"file": upload}, format="multipart")

    # then
    assert_problem(response, 415, "unsupported-file-type")
    assert received_state(store_dir) == NOTHING


@pytest.mark.parametrize(
    ("user", "status", "code"),
    [
        ("alice", 403, "role-required"),  # a maker, not an approver
        ("outsider", 403, "no-organisation"),
    ],
)
def test_only_an_approver_may_send_a_file(
    request, client_for, store_dir, alice, outsider, user, status, code
):
    # when
    response = post_raw(client_for(request.getfixturevalue(user)), statement())

    # then
    assert_problem(response, status, code)
    assert received_state(store_dir) == NOTHING


def test_a_makers_upload_is_refused_before_its_body_is_read(
    client_for, store_dir, alice, monkeypatch
):
    # given
    read = []
    monkeypatch.setattr(
        "settlement.api.parsers.RawBodyParser.parse",
        lambda *args, **kwargs: read.append(1) or b"",
    )

    # when
    response = post_raw(client_for(alice), statement())

    # then
    assert_problem(response, 403, "role-required")
    assert read == []


def test_an_anonymous_upload_is_a_401(store_dir, db):
    # when
    response = post_raw(APIClient(), statement())

    # then
    assert_problem(response, 401, "not-authenticated")
    assert received_state(store_dir) == NOTHING


def test_an_idempotency_key_changes_nothing_the_content_is_the_key(
    client_for, store_dir, bob
):
    # when: the same bytes under two keys, and other bytes under the first
    first = post_raw(client_for(bob), statement(), HTTP_IDEMPOTENCY_KEY="k1")
    second = post_raw(client_for(bob), statement(), HTTP_IDEMPOTENCY_KEY="k2")
    other = post_raw(client_for(bob), statement(2), HTTP_IDEMPOTENCY_KEY="k1")

    # then
    assert [r.status_code for r in (first, second, other)] == [201, 200, 201]
    assert first.json()["id"] == second.json()["id"] != other.json()["id"]
    assert OutboxMessage.objects.count() == 2
