"""Processing a received statement: lines, outcomes, PaymentSettled; or a rejection.

The settlement consumer learns the expected payments from the stream, then
processes each SettlementFileReceived: matched lines write PaymentSettled in
the same transaction, everything else gets its outcome, and a bad file ends
`rejected` with a typed reason. Reprocessing changes nothing twice.
"""

from datetime import UTC, date, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from events.inbox import consume, writes_deferred
from events.models import OutboxMessage
from iso20022.camt053_build import (
    AccountStatement,
    EntryTransaction,
    ReportEntry,
    statement_build,
)
from payments.services import payment_approve
from settlement.consumer import CONSUMER
from settlement.models import (
    ExpectedPayment,
    KnownAccount,
    SettlementFile,
    StatementLine,
)
from settlement.receiving import settlement_file_receive
from tests.factories import VALID_CREDITOR_IBAN, payment_submitted

pytestmark = pytest.mark.django_db

BOOKED = date(2026, 12, 4)
TIME = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def v2_and_store(settings, tmp_path):
    settings.EVENT_VERSIONS = {"PaymentApproved": 2}
    settings.STORAGES = {
        **settings.STORAGES,
        "content": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "content")},
        },
    }


def deliver(envelope: dict) -> str:
    return consume(
        consumer="settlement",
        envelope=envelope,
        handlers=CONSUMER.handlers,
        consumes=CONSUMER.consumed_types,
    )


def deliver_subject(subject: str) -> list[str]:
    rows = OutboxMessage.objects.filter(subject=subject).order_by("id")
    return [deliver(row.envelope) for row in rows]


def approved(alice, bob, account, *, seen=True, **fields):
    payment = payment_submitted(by=alice, account=account, **fields)
    payment_approve(payment_id=payment.id, actor=bob)
    if seen:
        assert deliver_subject(str(payment.id)) == ["applied", "applied"]
    return payment


def debit(
    payment=None,
    *,
    amount=None,
    e2e=None,
    ref="R1",
    iban=VALID_CREDITOR_IBAN,
    remittance="INV-1",
    code=None,
):
    return ReportEntry(
        amount=amount if amount is not None else payment.amount,
        direction="debit",
        booking_date=BOOKED,
        value_date=BOOKED,
        bank_reference=ref,
        bank_transaction_code=code,
        transactions=(
            EntryTransaction(
                end_to_end_id=e2e if e2e is not None else payment.id.hex,
                bank_reference=ref,
                creditor_name="Jane Supplier",
                creditor_iban=iban,
                remittance=remittance,
            ),
        ),
    )


def statement(account, *entries, statement_id="S1") -> bytes:
    return statement_build(
        message_id=f"M-{statement_id}",
        created_at=TIME,
        statements=[
            AccountStatement(
                statement_id=statement_id,
                account_iban=account.iban,
                currency="EUR",
                opening_balance=100_000_00,
                opening_date=BOOKED,
                closing_date=BOOKED,
                entries=entries,
            )
        ],
    )


def received(account, data: bytes) -> SettlementFile:
    settlement_file, _ = settlement_file_receive(
        organisation_id=account.organisation_id,
        data=data,
        content_type="application/xml",
        source="upload",
    )
    [status] = deliver_subject(f"settlement-file/{settlement_file.id}")
    assert status == "applied"
    settlement_file.refresh_from_db()
    return settlement_file


def outcomes(settlement_file) -> list[str]:
    return list(
        settlement_file.lines.order_by("index").values_list("outcome", flat=True)
    )


def settled_events():
    return OutboxMessage.objects.filter(event_type="PaymentSettled")


def test_each_line_gets_its_outcome_and_a_match_settles_its_payment(
    alice, bob, acme_eur
):
    # given: two approved payments the settlement consumer has seen
    paid = approved(alice, bob, acme_eur, amount=12550)
    short = approved(alice, bob, acme_eur, amount=990)
    fee = ReportEntry(
        amount=250,
        direction="debit",
        booking_date=BOOKED,
        value_date=BOOKED,
        bank_transaction_code=("ACMT", "MDOP", "CHRG"),
    )
    credit = ReportEntry(
        amount=5000, direction="credit", booking_date=BOOKED, value_date=BOOKED
    )

    # when
    settlement_file = received(
        acme_eur,
        statement(
            acme_eur,
            debit(paid),
            debit(short, amount=991, ref="R2"),
            debit(amount=700, e2e="f" * 32, ref="R3"),
            fee,
            credit,
        ),
    )

    # then
    assert settlement_file.status == "processed"
    assert outcomes(settlement_file) == [
        "matched",
        "amount_mismatch",
        "unknown_payment",
        "not_a_payment",
        "not_a_payment",
    ]
    assert settlement_file.outcome_counts == {
        "matched": 1,
        "amount_mismatch": 1,
        "unknown_payment": 1,
        "duplicate": 0,
        "not_a_payment": 2,
    }
    [event] = settled_events()
    data = event.envelope["data"]
    assert data["payment_id"] == str(paid.id)
    assert data["amount"] == {"value": 12550, "currency": "EUR"}
    assert data["booking_date"] == "2026-12-04"
    assert data["bank_reference"] == "R1"
    assert data["file_id"] == str(settlement_file.id)
    assert data["line"] == 0
    assert event.subject == f"{paid.id}/settlement"
    assert event.partition_key == str(acme_eur.id)


def test_a_line_the_bank_sent_without_end_to_end_id_matches_by_its_details(
    alice, bob, acme_eur
):
    payment = approved(alice, bob, acme_eur, amount=4200, reference="INV-9")

    settlement_file = received(
        acme_eur,
        statement(acme_eur, debit(payment, e2e="NOTPROVIDED", remittance="INV-9")),
    )

    assert outcomes(settlement_file) == ["matched"]
    assert settled_events().get().envelope["data"]["payment_id"] == str(payment.id)


def test_a_statement_before_the_approval_waits_and_matches_when_it_arrives(
    alice, bob, acme_eur
):
    # given: the statement is processed before the approval reached settlement
    late = approved(alice, bob, acme_eur, seen=False)
    submitted, approval = OutboxMessage.objects.filter(subject=str(late.id)).order_by(
        "id"
    )
    assert deliver(submitted.envelope) == "applied"  # the account is known
    settlement_file = received(acme_eur, statement(acme_eur, debit(late)))
    assert outcomes(settlement_file) == ["unknown_payment"]
    assert not settled_events().exists()

    # when: the approval arrives
    assert deliver(approval.envelope) == "applied"

    # then: the waiting line is matched, without anyone re-uploading
    settlement_file.refresh_from_db()
    assert outcomes(settlement_file) == ["matched"]
    assert settlement_file.outcome_counts["matched"] == 1
    assert settlement_file.outcome_counts["unknown_payment"] == 0
    assert settled_events().get().envelope["data"]["payment_id"] == str(late.id)


def test_the_account_is_learned_from_the_submission_even_when_the_approval_comes_first(
    alice, bob, acme_eur
):
    # The approval's handler reads no account: the payment's own stream orders
    # PaymentSubmitted first, and an approval delivered before it waits parked.
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    submitted, approval = OutboxMessage.objects.filter(
        subject=str(payment.id)
    ).order_by("id")
    assert deliver(approval.envelope) == "parked"
    assert not KnownAccount.objects.exists()
    assert not ExpectedPayment.objects.exists()

    with CaptureQueriesContext(connection) as queries:
        assert deliver(submitted.envelope) == "applied"

    known = KnownAccount.objects.get()
    assert (known.organisation_id, known.iban) == (
        acme_eur.organisation_id,
        acme_eur.iban,
    )
    assert ExpectedPayment.objects.get().payment_id == payment.id
    account_reads = [
        q["sql"]
        for q in queries.captured_queries
        if "settlement_knownaccount" in q["sql"]
    ]
    assert len(account_reads) == 2  # PaymentSubmitted's get_or_create: read, insert


def test_an_account_once_learned_is_not_asked_for_again(
    django_capture_on_commit_callbacks, alice, acme_eur
):
    # given: a first submission from the account, committed
    first = payment_submitted(by=alice, account=acme_eur)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_subject(str(first.id)) == ["applied"]

    # when: a second one from the same account
    second = payment_submitted(by=alice, account=acme_eur)
    with CaptureQueriesContext(connection) as queries:
        assert deliver_subject(str(second.id)) == ["applied"]

    # then: the worker remembered the account; it asked nothing of the table
    assert not [
        q["sql"]
        for q in queries.captured_queries
        if "settlement_knownaccount" in q["sql"]
    ]
    assert KnownAccount.objects.filter(iban=acme_eur.iban).count() == 1


def test_a_second_line_for_a_settled_payment_is_a_duplicate(alice, bob, acme_eur):
    payment = approved(alice, bob, acme_eur)
    received(acme_eur, statement(acme_eur, debit(payment)))

    again = received(
        acme_eur, statement(acme_eur, debit(payment, ref="R9"), statement_id="S2")
    )

    assert outcomes(again) == ["duplicate"]
    assert settled_events().count() == 1


def test_reprocessing_changes_nothing_twice(alice, bob, acme_eur):
    payment = approved(alice, bob, acme_eur)
    settlement_file = received(acme_eur, statement(acme_eur, debit(payment)))
    from django.db import transaction

    from settlement.processing import settlement_file_process

    with transaction.atomic():
        settlement_file_process(file_id=settlement_file.id)

    assert outcomes(settlement_file) == ["matched"]
    assert StatementLine.objects.count() == 1
    assert settled_events().count() == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is not xml", "not-xml"),
        (
            b"<?xml version='1.0'?><Document xmlns='urn:x'><A/></Document>",
            "not-camt053",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<d>&x;</d>",
            "unsafe-xml",
        ),
    ],
    ids=["not-xml", "not-camt053", "xxe"],
)
def test_a_bad_file_ends_rejected_with_its_reason_and_nothing_else(
    alice, bob, acme_eur, data, reason
):
    approved(alice, bob, acme_eur)

    settlement_file = received(acme_eur, data)

    assert settlement_file.status == "rejected"
    assert settlement_file.rejection_reason.startswith(reason)
    assert not settlement_file.lines.exists()
    assert not settled_events().exists()


def test_a_statement_of_an_account_that_is_not_the_organisations_is_rejected(
    alice, bob, acme_eur, globex_eur
):
    payment = approved(alice, bob, acme_eur)

    settlement_file = received(acme_eur, statement(globex_eur, debit(payment)))

    assert settlement_file.status == "rejected"
    assert settlement_file.rejection_reason.startswith("account-not-the-organisations")
    assert not settled_events().exists()


def test_a_reprocess_asked_over_rest_changes_nothing_twice(
    alice, bob, acme_eur, client_for
):
    # given: a processed file with one matched line
    payment = approved(alice, bob, acme_eur)
    settlement_file = received(acme_eur, statement(acme_eur, debit(payment)))

    # when: an approver asks for it again, and the consumer gets the request
    response = client_for(bob).post(
        f"/api/v1/settlement-files/{settlement_file.id}/reprocess"
    )
    statuses = deliver_subject(f"settlement-file/{settlement_file.id}")

    # then: asked as the file's next event, processed, nothing changed twice
    assert response.status_code == 202
    assert response.json()["id"] == str(settlement_file.id)
    request = OutboxMessage.objects.get(event_type="SettlementFileReprocessRequested")
    assert request.sequence == 2
    assert request.envelope["data"]["requested_by"] == "bob"
    assert statuses == ["skipped_duplicate", "applied"]
    assert outcomes(settlement_file) == ["matched"]
    assert settled_events().count() == 1


def test_only_an_approver_of_the_files_organisation_may_ask(
    alice, bob, acme_eur, globex, client_for
):
    from tests.factories import UserFactory

    payment = approved(alice, bob, acme_eur)
    settlement_file = received(acme_eur, statement(acme_eur, debit(payment)))
    outsider = UserFactory(username="gina", organisation=globex, is_approver=True)
    url = f"/api/v1/settlement-files/{settlement_file.id}/reprocess"

    assert client_for(alice).post(url).status_code == 403
    assert client_for(outsider).post(url).status_code == 404
    assert not OutboxMessage.objects.filter(
        event_type="SettlementFileReprocessRequested"
    ).exists()


def test_a_line_naming_a_payment_it_cannot_settle_is_announced_once(
    alice, bob, acme_eur
):
    # given: a payment, and a statement whose line for it has another amount
    payment = approved(alice, bob, acme_eur, amount=12550)
    settlement_file = received(
        acme_eur, statement(acme_eur, debit(payment, amount=12551))
    )

    # when: processed again
    from django.db import transaction

    from settlement.processing import settlement_file_process

    with transaction.atomic():
        settlement_file_process(file_id=settlement_file.id)

    # then: one SettlementMismatchDetected, and no settlement
    [mismatch] = OutboxMessage.objects.filter(event_type="SettlementMismatchDetected")
    data = mismatch.envelope["data"]
    assert data["outcome"] == "amount_mismatch"
    assert data["expected"] == {"value": 12550, "currency": "EUR"}
    assert data["booked"] == {"value": 12551, "currency": "EUR"}
    assert data["payment_id"] == str(payment.id)
    assert not settled_events().exists()


def test_a_payment_named_twice_in_one_statement_settles_once(alice, bob, acme_eur):
    # The lines of a batch are written together at its end: the second line
    # must still see the payment the first one settled.
    payment = approved(alice, bob, acme_eur)

    settlement_file = received(
        acme_eur, statement(acme_eur, debit(payment), debit(payment, ref="R2"))
    )

    assert outcomes(settlement_file) == ["matched", "duplicate"]
    assert settled_events().get().envelope["data"]["line"] == 0
    [mismatch] = OutboxMessage.objects.filter(event_type="SettlementMismatchDetected")
    data = mismatch.envelope["data"]
    assert (data["outcome"], data["line"]) == ("duplicate", 1)
    first = settlement_file.lines.get(index=0)
    assert ExpectedPayment.objects.get(payment_id=payment.id).settled_by == first


@pytest.mark.parametrize(
    ("named_first", "expected"),
    [(True, ["matched", "unknown_payment"]), (False, ["matched", "duplicate"])],
    ids=["named-then-described", "described-then-named"],
)
def test_a_payment_named_and_described_in_one_statement_settles_once(
    alice, bob, acme_eur, named_first, expected
):
    # A described line looks only among unsettled payments: after the named
    # line settled it, it finds none. A named line finds the payment settled
    # by the described one: a duplicate. As when each line was written alone.
    payment = approved(alice, bob, acme_eur, reference="INV-9")
    named = debit(payment, remittance="INV-9")
    described = debit(payment, e2e="NOTPROVIDED", remittance="INV-9", ref="R2")
    entries = (named, described) if named_first else (described, named)

    settlement_file = received(acme_eur, statement(acme_eur, *entries))

    assert outcomes(settlement_file) == expected
    assert settled_events().get().envelope["data"]["line"] == 0
    assert ExpectedPayment.objects.get().settled_by == settlement_file.lines.get(
        index=0
    )


def test_a_statements_lines_cost_the_same_statements_however_many_match(
    alice, bob, acme_eur
):
    def statements_for(count: int, statement_id: str) -> int:
        payments = [approved(alice, bob, acme_eur) for _ in range(count)]
        data = statement(
            acme_eur, *[debit(p) for p in payments], statement_id=statement_id
        )
        settlement_file, _ = settlement_file_receive(
            organisation_id=acme_eur.organisation_id,
            data=data,
            content_type="application/xml",
            source="upload",
        )
        [row] = OutboxMessage.objects.filter(
            subject=f"settlement-file/{settlement_file.id}"
        )
        with CaptureQueriesContext(connection) as queries:
            assert deliver(row.envelope) == "applied"
        assert outcomes(settlement_file) == ["matched"] * count
        return len(queries.captured_queries)

    assert statements_for(2, "S1") == statements_for(6, "S2")
    assert settled_events().count() == 8


def deliver_burst(envelopes: list[dict]) -> list[str]:
    """As a burst's fast pass applies them: one transaction, rows deferred."""
    with transaction.atomic(), writes_deferred():
        return [
            consume(
                consumer="settlement",
                envelope=envelope,
                handlers=CONSUMER.handlers,
                consumes=CONSUMER.consumed_types,
                savepoint=False,
            )
            for envelope in envelopes
        ]


def test_an_expectation_with_no_line_waiting_joins_the_bursts_last_statement(
    alice, bob, acme_eur
):
    # given: three approved payments not yet seen by settlement
    payments = [approved(alice, bob, acme_eur, seen=False) for _ in range(3)]
    envelopes = [
        row.envelope
        for row in OutboxMessage.objects.filter(
            subject__in=[str(p.id) for p in payments]
        ).order_by("id")
    ]

    # when: applied in one burst
    with CaptureQueriesContext(connection) as queries:
        assert deliver_burst(envelopes) == ["applied"] * 6

    # then: the three expectations went in one statement at the burst's end
    # (on PostgreSQL the one that writes the burst's own rows), not one each
    inserts = [
        q
        for q in queries.captured_queries
        if 'INSERT INTO "settlement_expectedpayment"' in q["sql"]
    ]
    assert len(inserts) == 1
    assert set(ExpectedPayment.objects.values_list("payment_id", flat=True)) == {
        p.id for p in payments
    }


def test_a_statement_later_in_the_burst_finds_the_expectation_the_burst_deferred(
    alice, bob, acme_eur
):
    # given: a payment approved, and its statement received, neither applied yet
    payment = approved(alice, bob, acme_eur, seen=False)
    submitted, approval = OutboxMessage.objects.filter(
        subject=str(payment.id)
    ).order_by("id")
    settlement_file, _ = settlement_file_receive(
        organisation_id=acme_eur.organisation_id,
        data=statement(acme_eur, debit(payment)),
        content_type="application/xml",
        source="upload",
    )
    [file_received] = OutboxMessage.objects.filter(
        subject=f"settlement-file/{settlement_file.id}"
    )

    # when: the approval (nothing waits for it yet: its row is deferred) and
    # then the statement are applied in one burst
    assert (
        deliver_burst([submitted.envelope, approval.envelope, file_received.envelope])
        == ["applied"] * 3
    )

    # then: the statement's line found the expectation and settled the payment
    assert outcomes(settlement_file) == ["matched"]
    assert settled_events().get().envelope["data"]["payment_id"] == str(payment.id)
    assert ExpectedPayment.objects.get(payment_id=payment.id).settled_by is not None


def test_a_burst_of_approvals_whose_lines_waited_recounts_their_file_once(
    alice, bob, acme_eur
):
    # given: a statement processed before three approvals reached settlement
    late = [approved(alice, bob, acme_eur, seen=False) for _ in range(3)]
    approvals = []
    for payment in late:
        submitted, approval = OutboxMessage.objects.filter(
            subject=str(payment.id)
        ).order_by("id")
        assert deliver(submitted.envelope) == "applied"
        approvals.append(approval.envelope)
    settlement_file = received(
        acme_eur,
        statement(acme_eur, *(debit(p, ref=f"R{n}") for n, p in enumerate(late))),
    )
    assert outcomes(settlement_file) == ["unknown_payment"] * 3

    # when: the three approvals arrive in one burst
    with CaptureQueriesContext(connection) as queries:
        assert deliver_burst(approvals) == ["applied"] * 3

    # then: each matched its waiting line, and the file's counts were taken
    # once, at the burst's end, and are right
    counts = [
        q
        for q in queries.captured_queries
        if "GROUP BY" in q["sql"] and '"settlement_statementline"' in q["sql"]
    ]
    assert len(counts) == 1
    settlement_file.refresh_from_db()
    assert outcomes(settlement_file) == ["matched"] * 3
    assert settlement_file.outcome_counts["matched"] == 3
    assert settlement_file.outcome_counts["unknown_payment"] == 0
    assert settled_events().count() == 3
