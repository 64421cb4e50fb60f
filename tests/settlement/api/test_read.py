"""GET the settlement files, one file, and its lines: the caller's organisation only."""

import base64
import uuid
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from settlement.models import SettlementFile, StatementLine
from settlement.receiving import settlement_file_receive
from tests.assertions import assert_problem
from tests.settlement.conftest import statement

pytestmark = pytest.mark.django_db

URL = "/api/v1/settlement-files"


def received(organisation, n: int = 1) -> SettlementFile:
    file, _ = settlement_file_receive(
        organisation_id=organisation.id,
        data=statement(n),
        content_type="application/xml",
        source="landing_folder",
        original_name=f"stmt-{n}.xml",
    )
    return file


def line(file, index: int, **fields) -> StatementLine:
    values = {
        "amount": 12550,
        "currency": "EUR",
        "direction": "debit",
        "booking_date": date(2026, 12, 4),
        "outcome": "matched",
    }
    values.update(fields)
    return StatementLine.objects.create(file=file, index=index, **values)


def test_the_list_is_newest_first_and_pages_with_a_cursor(
    client_for, store_dir, alice, acme
):
    # given: three files, received a minute apart
    files = [received(acme, n) for n in range(3)]
    for minutes, file in enumerate(files):
        SettlementFile.objects.filter(id=file.id).update(
            received_at=timezone.now() + timedelta(minutes=minutes)
        )

    # when
    first = client_for(alice).get(URL, {"page_size": 2}).json()
    second = client_for(alice).get(first["next"]).json()

    # then
    assert [f["id"] for f in first["results"]] == [str(files[2].id), str(files[1].id)]
    assert [f["id"] for f in second["results"]] == [str(files[0].id)]
    assert second["next"] is None
    assert first["results"][0]["original_name"] == "stmt-2.xml"
    assert first["results"][0]["source"] == "landing_folder"


def test_the_list_shows_only_the_callers_organisation(
    client_for, store_dir, alice, acme, globex
):
    # given
    ours = received(acme)
    received(globex, 2)

    # when
    page = client_for(alice).get(URL).json()

    # then
    assert [f["id"] for f in page["results"]] == [str(ours.id)]


def test_a_file_shows_every_outcome_count_with_zero_for_none(
    client_for, store_dir, alice, acme
):
    # given: processing counted some outcomes
    file = received(acme)
    processed_at = timezone.now()
    SettlementFile.objects.filter(id=file.id).update(
        status="processed",
        outcome_counts={"matched": 3, "unknown_payment": 1},
        processed_at=processed_at,
    )

    # when
    body = client_for(alice).get(f"{URL}/{file.id}").json()

    # then
    assert body["status"] == "processed"
    assert body["outcome_counts"] == {
        "matched": 3,
        "amount_mismatch": 0,
        "unknown_payment": 1,
        "duplicate": 0,
        "not_a_payment": 0,
    }
    assert body["processed_at"] == processed_at.isoformat().replace("+00:00", "Z")
    assert body["sha256"] == file.sha256


def test_the_lines_are_in_file_order_and_page_with_a_cursor(
    client_for, store_dir, alice, acme
):
    # given: lines written out of order
    file = received(acme)
    payment_id = uuid.uuid4()
    for index in (2, 0, 1):
        line(file, index, bank_reference=f"REF-{index}")
    StatementLine.objects.filter(index=1).update(
        end_to_end_id="E2E-1",
        payment_id=payment_id,
        value_date=date(2026, 12, 5),
        direction="credit",
    )

    # when
    first = client_for(alice).get(f"{URL}/{file.id}/lines", {"page_size": 2}).json()
    second = client_for(alice).get(first["next"]).json()

    # then
    assert [row["index"] for row in first["results"]] == [0, 1]
    assert [row["index"] for row in second["results"]] == [2]
    assert first["results"][1] == {
        "file": str(file.id),
        "index": 1,
        "end_to_end_id": "E2E-1",
        "amount": 12550,
        "currency": "EUR",
        "direction": "credit",
        "booking_date": "2026-12-04",
        "value_date": "2026-12-05",
        "bank_reference": "REF-1",
        "outcome": "matched",
        "payment": str(payment_id),
    }
    assert first["results"][0]["payment"] is None
    assert first["results"][0]["end_to_end_id"] is None


def test_a_file_without_lines_has_an_empty_page(client_for, store_dir, alice, acme):
    # given
    file = received(acme)

    # when
    page = client_for(alice).get(f"{URL}/{file.id}/lines").json()

    # then
    assert page == {"next": None, "previous": None, "results": []}


@pytest.mark.parametrize("suffix", ["", "/lines"])
def test_another_organisations_file_is_not_found(
    client_for, store_dir, alice, globex, suffix
):
    # given
    theirs = received(globex)
    line(theirs, 0)

    # when
    response = client_for(alice).get(f"{URL}/{theirs.id}{suffix}")

    # then
    assert_problem(response, 404, "settlement-file-not-found")


@pytest.mark.parametrize("suffix", ["", "/lines"])
def test_an_unknown_file_is_not_found(client_for, alice, suffix):
    # when
    response = client_for(alice).get(f"{URL}/{uuid.uuid4()}{suffix}")

    # then
    assert_problem(response, 404, "settlement-file-not-found")


@pytest.mark.parametrize("file_id", ["42", "not-a-uuid", "../payments"])
def test_an_id_that_is_no_uuid_is_a_404_not_a_500(client_for, alice, file_id):
    # when
    for suffix in ("", "/lines"):
        response = client_for(alice).get(f"{URL}/{file_id}{suffix}")

        # then
        assert_problem(response, 404, "not-found")


@pytest.mark.parametrize("path", ["", "/{id}", "/{id}/lines"])
def test_a_caller_outside_every_organisation_is_refused(
    client_for, store_dir, outsider, acme, path
):
    # given
    file = received(acme)

    # when
    response = client_for(outsider).get(URL + path.format(id=file.id))

    # then
    assert_problem(response, 403, "no-organisation")


@pytest.mark.parametrize("position", ["abc", "-1", "1.5", "9" * 19, ""])
def test_a_tampered_lines_cursor_is_a_400_naming_it(
    client_for, store_dir, alice, acme, position
):
    # given
    file = received(acme)
    line(file, 0)
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()

    # when
    response = client_for(alice).get(f"{URL}/{file.id}/lines", {"cursor": cursor})

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["cursor"]


def test_a_payments_lines_are_the_matched_and_the_waiting_ones(
    client_for, store_dir, alice, acme
):
    # given: one line matched to the payment, one still waiting with its
    # EndToEndId (its statement landed before the approval), one of another
    payment_id = uuid.uuid4()
    first, second = received(acme, 1), received(acme, 2)
    matched = line(first, 0, payment_id=payment_id, end_to_end_id=payment_id.hex)
    waiting = line(second, 0, outcome="unknown_payment", end_to_end_id=payment_id.hex)
    line(second, 1, payment_id=uuid.uuid4(), end_to_end_id=uuid.uuid4().hex)

    # when
    page = (
        client_for(alice)
        .get("/api/v1/settlement-lines", {"payment": str(payment_id)})
        .json()
    )

    # then
    assert [(row["file"], row["index"], row["outcome"]) for row in page["results"]] == [
        (str(first.id), matched.index, "matched"),
        (str(second.id), waiting.index, "unknown_payment"),
    ]


def test_the_line_search_shows_only_the_callers_organisation(
    client_for, store_dir, alice, acme, globex
):
    # given: the same EndToEndId in another organisation's statement
    payment_id = uuid.uuid4()
    line(received(globex, 1), 0, end_to_end_id=payment_id.hex)
    ours = line(received(acme, 2), 0)

    # when
    everything = client_for(alice).get("/api/v1/settlement-lines").json()
    theirs = (
        client_for(alice)
        .get("/api/v1/settlement-lines", {"payment": str(payment_id)})
        .json()
    )

    # then
    assert [row["file"] for row in everything["results"]] == [str(ours.file_id)]
    assert theirs["results"] == []


def test_a_payment_filter_that_is_no_uuid_is_a_400_naming_it(client_for, alice):
    # when
    response = client_for(alice).get("/api/v1/settlement-lines", {"payment": "42"})

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert "payment" in problem["errors"]
