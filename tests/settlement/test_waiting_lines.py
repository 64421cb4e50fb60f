"""The waiting lines an expectation finds: the ORM's query, compiled once per
process and run with each expectation's values (settlement/matching.py), finds
exactly what the ORM's query finds."""

import uuid

import pytest

from settlement.matching import waiting_line_ids, waiting_lines
from settlement.models import ExpectedPayment, LineOutcome, StatementLine
from tests.settlement.conftest import IBAN, line, statement_file

pytestmark = pytest.mark.django_db


def expectation(organisation, *, e2e, amount=100, reference="INV-1"):
    return ExpectedPayment(
        organisation=organisation,
        end_to_end_id=e2e,
        amount=amount,
        currency="EUR",
        creditor_iban=IBAN,
        reference=reference,
    )


def test_the_compiled_query_finds_what_the_orms_finds(acme, globex):
    settlement_file, theirs = statement_file(acme, "1"), statement_file(globex, "2")
    named, described = uuid.uuid4().hex, uuid.uuid4().hex
    StatementLine.objects.bulk_create(
        [
            line(settlement_file, 0, e2e=named),  # names the first
            line(settlement_file, 1, amount=250, remittance="it's \\ odd"),
            line(settlement_file, 2, e2e=named, outcome=LineOutcome.MATCHED),
            line(settlement_file, 3, amount=999),  # describes nobody here
            line(theirs, 0, e2e=named),  # another organisation's
        ]
    )
    cases = [
        expectation(acme, e2e=named),
        expectation(acme, e2e=described, amount=250, reference="it's \\ odd"),
        expectation(acme, e2e=uuid.uuid4().hex, amount=1),
        expectation(globex, e2e=named),
    ]

    found = [sorted(map(str, waiting_line_ids(case))) for case in cases]

    assert found == [
        sorted(map(str, waiting_lines(case).values_list("id", flat=True)))
        for case in cases
    ]
    assert [len(ids) for ids in found] == [1, 1, 0, 1]
