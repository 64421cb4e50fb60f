"""Give each statement line its outcome; a matched line settles its payment.

By EndToEndId (the payment's id as 32 hex characters, which the bank returns);
where the bank reports NOTPROVIDED, by amount, currency, creditor IBAN and
reference. A match writes PaymentSettled through the outbox in the same
transaction as the line: the settlement is itself an event, and one payment is
settled once, ever (the second line that names it is a `duplicate`).
"""

import uuid
from functools import partial

from django.db.models import Q

from config.db.compiled import CompiledQuery
from config.db.rows_update import rows_update
from events.inbox import inserts_flush, once_at_burst_end
from events.outbox import publish_all
from settlement.counts import outcome_counts_save
from settlement.models import ExpectedPayment, LineOutcome, StatementLine
from settlement.payment_settled import (
    payment_settled_message,
    settlement_mismatch_message,
)

# Bank transaction code subfamilies of charges: the bank's, never a payment.
CHARGES = {"CHRG", "FEES", "COMM", "INTR", "TAXE"}
# Outcomes of a line that names a payment it cannot settle: a person must look.
MISMATCHES = {LineOutcome.AMOUNT_MISMATCH, LineOutcome.DUPLICATE}


def _named(organisation_id, end_to_end_ids) -> dict[str, ExpectedPayment]:
    """The organisation's expectations the lines name by EndToEndId, locked.

    One statement for a batch of lines, locking in primary-key order as every
    matching pass does, so two passes never wait on each other in a cycle.
    """
    named = {}
    if end_to_end_ids:
        rows = (
            ExpectedPayment.objects.select_for_update()
            .filter(organisation_id=organisation_id, end_to_end_id__in=end_to_end_ids)
            .order_by("pk")
        )
        for expected in rows:
            named.setdefault(expected.end_to_end_id, expected)
    return named


def _described(line, organisation_id, settled_here) -> ExpectedPayment | None:
    """The oldest unsettled expectation the line describes (no EndToEndId), locked.

    Those this batch settled are not written yet: they are left out by id.
    """
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
        .exclude(pk__in=settled_here)
        .order_by("created_at", "id")
        .first()
    )


def lines_match(lines: list[StatementLine], organisation_id) -> None:
    """Decide payment lines' outcomes in their order; a match settles its payment.

    Must run inside the consumer's transaction. A line already matched keeps
    its outcome: reprocessing never settles twice. A batch of lines costs a
    few statements, not four a line: the expectations they name are read in
    one, and the lines' outcomes, the settled expectations and the events in
    one each at the end. Until then the batch's own settlements are held
    here, so a second line naming (or describing) a payment an earlier line
    of the batch settled is a duplicate, as it would be in a later batch.
    """
    # Expectations an earlier event of this burst deferred must be there to
    # be found (settlement/expectations.py).
    inserts_flush()
    lines = [line for line in lines if line.outcome != LineOutcome.MATCHED]
    named = _named(
        organisation_id,
        {line.end_to_end_id.lower() for line in lines if line.end_to_end_id},
    )
    held = {expected.pk: expected for expected in named.values()}
    settled, decided, events = [], [], []
    for line in lines:
        if line.end_to_end_id:
            expected = named.get(line.end_to_end_id.lower())
        else:
            expected = _described(line, organisation_id, [e.pk for e in settled])
            if expected is not None:
                # The instance this batch holds, should a named line have it.
                expected = held.setdefault(expected.pk, expected)
        before = (line.outcome, line.payment_id)
        if expected is None:
            line.outcome, line.payment_id = LineOutcome.UNKNOWN_PAYMENT, None
        elif expected.settled_by_id is not None and expected.settled_by_id != line.pk:
            line.outcome, line.payment_id = LineOutcome.DUPLICATE, expected.payment_id
        elif (line.amount, line.currency) != (expected.amount, expected.currency):
            line.outcome = LineOutcome.AMOUNT_MISMATCH
            line.payment_id = expected.payment_id
        else:
            line.outcome, line.payment_id = LineOutcome.MATCHED, expected.payment_id
            expected.settled_by = line
            settled.append(expected)
            events.append(payment_settled_message(line=line, expected=expected))
        if (line.outcome, line.payment_id) != before:
            decided.append(line)
        if line.outcome in MISMATCHES and line.outcome != before[0]:
            events.append(settlement_mismatch_message(line=line, expected=expected))
    rows_update(settled, ["settled_by"])
    rows_update(decided, ["outcome", "payment_id"])
    publish_all(events)


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


def waiting_line_ids(expected: ExpectedPayment) -> list:
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


def waiting_lines_match(expected: ExpectedPayment, waiting: list) -> None:
    """Match the lines that arrived before the saved expectation (the statement
    landed first): `waiting`, their ids from waiting_line_ids.

    Nearly every expectation finds no line waiting: the ids alone are a cheaper
    query to build and run than the lines with their files, in order.
    """
    lines = list(
        StatementLine.objects.filter(id__in=waiting)
        .select_related("file")
        .order_by("file__received_at", "index")
    )
    lines_match(lines, expected.organisation_id)
    # Once per file and burst: a burst of approvals whose lines waited in one
    # statement recounted the whole file after each of them.
    for settlement_file in {line.file for line in lines}:
        once_at_burst_end(
            ("outcome counts", settlement_file.pk),
            partial(outcome_counts_save, settlement_file),
        )
