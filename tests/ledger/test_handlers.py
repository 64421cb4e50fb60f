"""The ledger consumer: one balanced entry per approved payment, never two."""

import uuid
from collections import defaultdict

import pytest
from django.db import IntegrityError, transaction

from events.inbox import readable_by
from ledger.handlers import HANDLERS, on_payment_approved
from ledger.models import Account, AccountKind, Direction, JournalEntry, JournalLine
from ledger.selectors import account_list
from ledger.services import (
    AccountCurrencyMismatch,
    Posting,
    UnbalancedEntry,
    in_transit_account_get_or_create,
    journal_entry_post,
)
from tests.events_builders import payment_event


def apply(event):
    # As the inbox dispatches: an older version is upcast to the one handled.
    handler, readable = readable_by(HANDLERS, event)
    with transaction.atomic():
        handler(readable)


def assert_balanced_per_currency():
    net = defaultdict(int)
    for line in JournalLine.objects.all():
        net[line.currency] += line.amount * (
            1 if line.direction == Direction.DEBIT else -1
        )
    assert net, "no lines at all"
    assert all(total == 0 for total in net.values()), dict(net)


def balances(organisation) -> dict[str, int]:
    return {a.name: a.balance for a in account_list(organisation_id=organisation.pk)}


@pytest.mark.parametrize("version", [1, 2])
def test_approved_payment_moves_the_amount_from_bank_to_in_transit(
    acme, alice, bob, version
):
    # given: either version (a v1 is upcast on the way in) books the same
    debtor_account_id = uuid.uuid4()
    event = payment_event(
        "PaymentApproved",
        organisation=acme,
        submitted_by=alice,
        actor=bob,
        debtor_account_id=debtor_account_id,
        amount=12550,
        version=version,
    )

    # when
    apply(event)

    # then
    entry = JournalEntry.objects.get()
    assert str(entry.payment_id) == event.data["payment_id"]
    assert str(entry.event_id) == event.id
    lines = {line.direction: line for line in entry.lines.select_related("account")}
    assert lines[Direction.DEBIT].account.kind == AccountKind.IN_TRANSIT
    assert lines[Direction.CREDIT].account.kind == AccountKind.BANK
    assert lines[Direction.CREDIT].account.debtor_account_id == debtor_account_id
    assert {line.amount for line in lines.values()} == {12550}
    assert {line.currency for line in lines.values()} == {"EUR"}
    assert_balanced_per_currency()
    assert balances(acme) == {
        "Bank DE89370400440532013000": -12550,
        "Payments in transit EUR": 12550,
    }


def test_a_second_apply_of_the_same_event_fails_and_changes_nothing(acme, alice, bob):
    # given
    event = payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob
    )
    apply(event)

    # when / then: the inbox skips duplicates; this is the belt behind it
    with pytest.raises(IntegrityError):
        apply(event)
    assert JournalEntry.objects.count() == 1
    assert JournalLine.objects.count() == 2
    assert sorted(balances(acme).values()) == [-12550, 12550]


def test_a_second_approval_event_for_one_payment_fails(acme, alice, bob):
    # given: the same payment approved under two different event ids
    payment_id = uuid.uuid4()
    fields = {"organisation": acme, "submitted_by": alice, "actor": bob}
    apply(payment_event("PaymentApproved", payment_id=payment_id, **fields))

    # when / then
    with pytest.raises(IntegrityError):
        apply(payment_event("PaymentApproved", payment_id=payment_id, **fields))
    assert JournalEntry.objects.count() == 1


def test_accounts_are_opened_once_and_reused(acme, alice, bob):
    # given: two EUR payments from one account, one USD payment from another
    eur_account, usd_account = uuid.uuid4(), uuid.uuid4()
    fields = {"organisation": acme, "submitted_by": alice, "actor": bob}

    # when
    apply(
        payment_event(
            "PaymentApproved", debtor_account_id=eur_account, amount=100, **fields
        )
    )
    apply(
        payment_event(
            "PaymentApproved", debtor_account_id=eur_account, amount=250, **fields
        )
    )
    apply(
        payment_event(
            "PaymentApproved",
            debtor_account_id=usd_account,
            debtor_iban="GB82WEST12345698765432",
            amount=999,
            currency="USD",
            **fields,
        )
    )

    # then: one bank account per debtor account, one in-transit per currency
    assert Account.objects.filter(organisation=acme).count() == 4
    assert balances(acme) == {
        "Bank DE89370400440532013000": -350,
        "Payments in transit EUR": 350,
        "Bank GB82WEST12345698765432": -999,
        "Payments in transit USD": 999,
    }
    assert_balanced_per_currency()


def test_other_organisations_get_their_own_accounts(acme, globex, alice, bob, gina):
    # given / when
    apply(payment_event("PaymentApproved", organisation=acme, submitted_by=alice))
    apply(payment_event("PaymentApproved", organisation=globex, submitted_by=gina))

    # then
    assert Account.objects.filter(organisation=acme).count() == 2
    assert Account.objects.filter(organisation=globex).count() == 2
    assert balances(globex)["Payments in transit EUR"] == 12550


def test_a_payment_in_another_currency_than_its_bank_account_is_refused(
    acme, alice, bob
):
    # given
    fields = {
        "organisation": acme,
        "submitted_by": alice,
        "actor": bob,
        "debtor_account_id": uuid.uuid4(),
    }
    apply(payment_event("PaymentApproved", **fields))

    # when / then
    with pytest.raises(AccountCurrencyMismatch):
        apply(payment_event("PaymentApproved", currency="USD", **fields))
    assert JournalEntry.objects.count() == 1


def test_an_unbalanced_entry_is_refused_before_anything_is_saved(acme):
    # given
    with transaction.atomic():
        eur = in_transit_account_get_or_create(organisation_id=acme.pk, currency="EUR")
        usd = in_transit_account_get_or_create(organisation_id=acme.pk, currency="USD")

    # when / then: equal amounts but in two currencies do not balance
    for postings in (
        [Posting(eur, Direction.DEBIT, 100), Posting(eur, Direction.CREDIT, 99)],
        [Posting(eur, Direction.DEBIT, 100), Posting(usd, Direction.CREDIT, 100)],
        [Posting(eur, Direction.DEBIT, 100)],
        [Posting(eur, Direction.DEBIT, 0), Posting(eur, Direction.CREDIT, 0)],
    ):
        with pytest.raises(UnbalancedEntry), transaction.atomic():
            journal_entry_post(
                organisation_id=acme.pk,
                payment_id=uuid.uuid4(),
                event_id=uuid.uuid4(),
                description="bad",
                postings=postings,
            )
    assert JournalEntry.objects.count() == 0


@pytest.mark.parametrize(
    "event_type", ["PaymentSubmitted", "PaymentRejected", "PaymentCancelled"]
)
def test_the_ledger_does_not_act_on_other_events(event_type):
    assert (event_type, 1) not in HANDLERS
    assert HANDLERS[("PaymentApproved", 2)] is on_payment_approved
