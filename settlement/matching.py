"""Give each statement line its outcome; a matched line settles its payment.

By EndToEndId (the payment's id as 32 hex characters, which the bank returns);
where the bank reports NOTPROVIDED, by amount, currency, creditor IBAN and
reference. A match writes PaymentSettled through the outbox in the same
transaction as the line: the settlement is itself an event, and one payment is
settled once, ever (the second line that names it is a `duplicate`).
"""

import uuid

from django.db.models import Q

from config.db.compiled import CompiledGet, CompiledQuery
from settlement.counts import outcome_counts_save
from settlement.models import ExpectedPayment, LineOutcome, StatementLine
from settlement.payment_settled import (
    payment_settled_publish,
    settlement_mismatch_publish,
)

# Bank transaction code subfamilies of charges: the bank's, never a payment.
CHARGES = {"CHRG", "FEES", "COMM", "INTR", "TAXE"}
# Outcomes of a line that names a payment it cannot settle: a person must look.
MISMATCHES = {LineOutcome.AMOUNT_MISMATCH, LineOutcome.DUPLICATE}


def _named(organisation_id, end_to_end_id):
    """The organisation's expectation a line names by its EndToEndId, locked."""
    return (
        ExpectedPayment.objects.select_for_update()
        .filter(organisation_id=organisation_id, end_to_end_id=end_to_end_id)
        .order_by("pk")[:1]
    )


# Every matched line reads it: built and compiled once (config/db/compiled.py).
_NAMED = CompiledGet(
    _named,
    fields=lambda: {
        "organisation_id": ExpectedPayment._meta.get_field("organisation"),
        "end_to_end_id": ExpectedPayment._meta.get_field("end_to_end_id"),
    },
    probe={"organisation_id": uuid.UUID(int=2), "end_to_end_id": "probe-named-line"},
)


def _candidate(line: StatementLine, organisation_id) -> ExpectedPayment | None:
    if line.end_to_end_id:
        return _NAMED.get(
            organisation_id=organisation_id, end_to_end_id=line.end_to_end_id.lower()
        )
    return (
        ExpectedPayment.objects.select_for_update()
        .filter(organisation_id=organisation_id)
        .filter(
            amount=line.amount,
            currency=line.currency,
            creditor_iban=line.creditor_iban,
            reference=line.remittance,
            settled_by__isnull=True,
        )
        .order_by("created_at", "id")
        .first()
    )


def line_match(line: StatementLine, organisation_id) -> None:
    """Decide a payment line's outcome (saving it); settle its payment on a match.

    Must run inside the consumer's transaction. A line already matched keeps
    its outcome: reprocessing never settles twice.
    """
    if line.outcome == LineOutcome.MATCHED:
        return
    before = line.outcome
    expected = _candidate(line, organisation_id)
    if expected is None:
        line.outcome, line.payment_id = LineOutcome.UNKNOWN_PAYMENT, None
    elif expected.settled_by_id is not None and expected.settled_by_id != line.pk:
        line.outcome, line.payment_id = LineOutcome.DUPLICATE, expected.payment_id
    elif (line.amount, line.currency) != (expected.amount, expected.currency):
        line.outcome, line.payment_id = LineOutcome.AMOUNT_MISMATCH, expected.payment_id
    else:
        line.outcome, line.payment_id = LineOutcome.MATCHED, expected.payment_id
        expected.settled_by = line
        expected.save(update_fields=["settled_by"])
        payment_settled_publish(line=line, expected=expected)
    line.save(update_fields=["outcome", "payment_id"])
    if line.outcome in MISMATCHES and line.outcome != before:
        settlement_mismatch_publish(line=line, expected=expected)


def waiting_lines(expected: ExpectedPayment):
    """The organisation's lines still waiting that name or describe `expected`."""
    return StatementLine.objects.filter(
        file__organisation_id=expected.organisation_id,
        outcome=LineOutcome.UNKNOWN_PAYMENT,
    ).filter(
        Q(end_to_end_id=expected.end_to_end_id)
        | Q(
            end_to_end_id__isnull=True,
            amount=expected.amount,
            currency=expected.currency,
            creditor_iban=expected.creditor_iban,
            remittance=expected.reference,
        )
    )


# waiting_lines() for an expectation of these values, to compile its SQL once:
# every value different, so that each one's place among the parameters is
# known. None has no place (it compiles to IS NULL), so is never one of them.
_PROBE = {
    "organisation_id": uuid.UUID(int=1),
    "end_to_end_id": "probe-end-to-end-id",
    "amount": 987_654_321_001,
    "currency": "probe-currency",
    "creditor_iban": "probe-creditor-iban",
    "reference": "probe-reference",
}


# Every PaymentApproved asks it: built and compiled once (config/db/compiled.py).
_WAITING_IDS = CompiledQuery(
    lambda **values: waiting_lines(ExpectedPayment(**values)).values_list(
        "id", flat=True
    ),
    fields=lambda: {name: ExpectedPayment._meta.get_field(name) for name in _PROBE},
    probe=_PROBE,
)


def _waiting_ids(expected: ExpectedPayment) -> list:
    """The ids of waiting_lines(expected), without building the query again.

    It runs for every PaymentApproved, nearly always to find nothing, and
    building and compiling it through the ORM was most of the settlement
    handler's CPU (0.5 of 0.7 ms in an in-process profile). The ORM's query
    stays the one definition of which lines wait for an expectation
    (docs/adr/0026-hot-reads-by-hand.md).
    """
    values = {name: getattr(expected, name) for name in _PROBE}
    if any(value is None for value in values.values()):
        return list(waiting_lines(expected).values_list("id", flat=True))
    return [row[0] for row in _WAITING_IDS.rows(**values)]


def waiting_lines_match(expected: ExpectedPayment) -> None:
    """Match lines that arrived before the expectation (the statement landed first)."""
    # Nearly every expectation finds no line waiting: the ids alone are a
    # cheaper query to build and run than the lines with their files, in order.
    waiting = _waiting_ids(expected)
    if not waiting:
        return
    touched = set()
    lines = StatementLine.objects.filter(id__in=waiting)
    for line in lines.select_related("file").order_by("file__received_at", "index"):
        line_match(line, expected.organisation_id)
        touched.add(line.file)
        expected.refresh_from_db()
    for settlement_file in touched:
        outcome_counts_save(settlement_file)
