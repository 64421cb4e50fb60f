"""Give each statement line its outcome; a matched line settles its payment.

By EndToEndId (the payment's id as 32 hex characters, which the bank returns);
where the bank reports NOTPROVIDED, by amount, currency, creditor IBAN and
reference. A match writes PaymentSettled through the outbox in the same
transaction as the line: the settlement is itself an event, and one payment is
settled once, ever (the second line that names it is a `duplicate`).
"""

from django.db.models import Q

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


def _candidate(line: StatementLine, organisation_id) -> ExpectedPayment | None:
    expected = ExpectedPayment.objects.select_for_update().filter(
        organisation_id=organisation_id
    )
    if line.end_to_end_id:
        return expected.filter(end_to_end_id=line.end_to_end_id.lower()).first()
    return (
        expected.filter(
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


def waiting_lines_match(expected: ExpectedPayment) -> None:
    """Match lines that arrived before the expectation (the statement landed first)."""
    # Nearly every expectation finds no line waiting: the ids alone are a
    # cheaper query to build and run than the lines with their files, in order.
    waiting = list(waiting_lines(expected).values_list("id", flat=True))
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
