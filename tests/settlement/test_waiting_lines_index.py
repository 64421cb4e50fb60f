"""A new expectation finds its waiting statement lines through the partial
indexes of waiting lines, not by walking the organisation's matched ones, even
on a table PostgreSQL has never analysed (settlement/models.py)."""

import datetime
import uuid

import pytest
from django.db import connection

from settlement.matching import waiting_lines
from settlement.models import (
    ExpectedPayment,
    LineDirection,
    LineOutcome,
    StatementLine,
)
from tests.settlement.conftest import statement_file

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def lines(settlement_file, outcome: str, count: int, start: int = 0) -> list:
    return [
        StatementLine(
            file=settlement_file,
            index=start + n,
            end_to_end_id=uuid.uuid4().hex,
            amount=100 + n,
            currency="EUR",
            direction=LineDirection.DEBIT,
            booking_date=datetime.date(2026, 12, 1),
            creditor_iban="DE89370400440532013000",
            outcome=outcome,
        )
        for n in range(count)
    ]


def test_the_waiting_lines_of_a_new_expectation_are_read_by_their_index(acme):
    # given: an organisation with 5,000 matched lines and two waiting, one of
    # them the new expectation's; the table never analysed
    settlement_file = statement_file(acme)
    StatementLine.objects.bulk_create(
        lines(settlement_file, LineOutcome.MATCHED, 5000)
        + lines(settlement_file, LineOutcome.UNKNOWN_PAYMENT, 2, start=5000)
    )
    waiting = StatementLine.objects.filter(outcome=LineOutcome.UNKNOWN_PAYMENT)
    line = waiting.first()
    expected = ExpectedPayment(
        organisation=acme,
        end_to_end_id=line.end_to_end_id,
        amount=line.amount,
        currency="EUR",
        creditor_iban=line.creditor_iban,
        reference="",
    )

    # when
    query = waiting_lines(expected)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        [plan] = cursor.fetchone()[0]
    nodes = list(plan_nodes(plan["Plan"]))

    # then: the waiting line is found through the partial indexes, and no scan
    # reads the matched lines
    assert list(query) == [line]
    line_indexes = {
        node["Index Name"]
        for node in nodes
        if node.get("Index Name", "").startswith("statement_line")
    }
    assert "statement_line_waiting" in line_indexes
    assert line_indexes <= {"statement_line_waiting", "statement_line_waiting_no_id"}
    assert not [
        node
        for node in nodes
        if node["Node Type"] == "Seq Scan"
        and node.get("Relation Name") == "settlement_statementline"
    ]


def plan_nodes(node: dict):
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
