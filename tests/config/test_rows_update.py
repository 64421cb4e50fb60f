"""Many rows' own values in one UPDATE (config/db/rows_update.py)."""

import uuid

import pytest

from config.db.rows_update import rows_update
from settlement.models import ExpectedPayment, LineOutcome, StatementLine
from tests.settlement.conftest import line as statement_line
from tests.settlement.conftest import statement_file

pytestmark = pytest.mark.django_db


def statement_line_rows(organisation, count: int, payment_id=None):
    """`count` stored lines of one file, waiting, in index order."""
    settlement_file = statement_file(organisation)
    return StatementLine.objects.bulk_create(
        statement_line(
            settlement_file, index, amount=100 + index, payment_id=payment_id
        )
        for index in range(count)
    )


def test_each_row_gets_its_own_values_and_the_others_keep_theirs(
    acme, django_assert_num_queries
):
    # given: three lines, all waiting
    first, second, untouched = statement_line_rows(acme, 3)
    first.outcome, first.payment_id = LineOutcome.MATCHED, uuid.uuid4()
    second.outcome, second.payment_id = LineOutcome.DUPLICATE, uuid.uuid4()

    # when
    with django_assert_num_queries(1):
        rows_update([first, second], ["outcome", "payment_id"])

    # then
    stored = {line.pk: line for line in StatementLine.objects.all()}
    for line in (first, second, untouched):
        assert (stored[line.pk].outcome, stored[line.pk].payment_id) == (
            line.outcome,
            line.payment_id,
        )
    assert stored[untouched.pk].outcome == LineOutcome.UNKNOWN_PAYMENT


def test_a_column_null_in_every_row_is_written(acme):
    # PostgreSQL types a VALUES column of NULLs alone as text, and text is
    # not a uuid: the first row's cast gives the column its type.
    lines = statement_line_rows(acme, 2, payment_id=uuid.uuid4())
    for line in lines:
        line.outcome, line.payment_id = LineOutcome.UNKNOWN_PAYMENT, None

    rows_update(lines, ["outcome", "payment_id"])

    assert list(StatementLine.objects.values_list("payment_id", flat=True)) == [
        None,
        None,
    ]


def test_a_foreign_key_is_written_by_its_column(acme):
    [line] = statement_line_rows(acme, 1)
    expected = ExpectedPayment.objects.create(
        organisation=acme,
        payment_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        end_to_end_id="a" * 32,
        debtor_account_id=uuid.uuid4(),
        debtor_iban="DE89370400440532013000",
        amount=100,
        currency="EUR",
        creditor_name="Jane",
        submitted_by={"id": 1, "username": "alice"},
    )
    expected.settled_by = line

    rows_update([expected], ["settled_by"])

    expected.refresh_from_db()
    assert expected.settled_by_id == line.pk


def test_nothing_to_write_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_update([], ["outcome"])
