"""Write the books: open accounts lazily and post balanced journal entries.

Called by ledger/handlers.py inside the consumer's transaction; nothing here
opens its own, so an entry commits together with its inbox row or not at all.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from config.db.compiled import CompiledGet
from events.inbox import rows_insert
from ledger.errors import EntryNotBookedYet
from ledger.models import (
    Account,
    AccountKind,
    Direction,
    EntryStatus,
    JournalEntry,
    JournalLine,
)


class UnbalancedEntry(ValueError):
    """The lines of an entry do not balance, or do not fit their accounts."""


class AccountCurrencyMismatch(ValueError):
    """An event's currency differs from the one its bank account was opened in."""


# Accounts are opened once and never change or go away, so each worker process
# remembers the ones it has seen committed: two queries fewer per event.
_opened: dict[tuple, Account] = {}


def _account_get_or_create(key: tuple, **lookup_and_defaults) -> Account:
    account = _opened.get(key)
    if account is None:
        account, _ = Account.objects.get_or_create(**lookup_and_defaults)
        # Remember it only once committed: a rolled-back account never existed.
        transaction.on_commit(lambda: _opened.setdefault(key, account))
    return account


@dataclass(frozen=True)
class Posting:
    """One line to be posted: `amount` in minor units, always positive."""

    account: Account
    direction: str
    amount: int


def bank_account_get_or_create(
    *, organisation_id, debtor_account_id, iban: str, currency: str
) -> Account:
    """Return the ledger account mirroring a debtor bank account, opening it once.

    Raise AccountCurrencyMismatch if the account exists in another currency: a
    debtor account has one currency, so such an event is refused (and its
    message dead-letters visibly) rather than booked in the wrong money.
    """
    account = _account_get_or_create(
        (str(organisation_id), AccountKind.BANK, str(debtor_account_id)),
        organisation_id=organisation_id,
        kind=AccountKind.BANK,
        debtor_account_id=debtor_account_id,
        defaults={"name": f"Bank {iban}", "currency": currency},
    )
    if account.currency != currency:
        raise AccountCurrencyMismatch(
            f"{currency} payment against {account.name} held in {account.currency}"
        )
    return account


def in_transit_account_get_or_create(*, organisation_id, currency: str) -> Account:
    """Return the organisation's payments-in-transit account for the currency."""
    account = _account_get_or_create(
        (str(organisation_id), AccountKind.IN_TRANSIT, currency),
        organisation_id=organisation_id,
        kind=AccountKind.IN_TRANSIT,
        currency=currency,
        defaults={"name": f"Payments in transit {currency}"},
    )
    return account


def postings_check(postings: list[Posting]) -> None:
    """Raise UnbalancedEntry unless debits equal credits in every currency."""
    if len(postings) < 2:
        raise UnbalancedEntry("an entry needs at least two lines")
    totals: dict[str, int] = {}
    for posting in postings:
        if posting.amount <= 0:
            raise UnbalancedEntry(f"amount must be positive, got {posting.amount}")
        if posting.direction not in Direction.values:
            raise UnbalancedEntry(f"unknown direction {posting.direction!r}")
        sign = 1 if posting.direction == Direction.DEBIT else -1
        currency = posting.account.currency
        totals[currency] = totals.get(currency, 0) + sign * posting.amount
    unbalanced = {currency: net for currency, net in totals.items() if net}
    if unbalanced:
        raise UnbalancedEntry(f"debits minus credits is not zero: {unbalanced}")


def journal_entry_post(
    *,
    organisation_id,
    payment_id,
    event_id,
    description: str,
    postings: list[Posting],
) -> JournalEntry:
    """Save one balanced entry with its lines.

    Must run inside a transaction. A second entry for the same payment or event
    raises IntegrityError (the belt behind the inbox's duplicate check).
    """
    postings_check(postings)
    for posting in postings:
        if str(posting.account.organisation_id) != str(organisation_id):
            raise UnbalancedEntry("a line's account belongs to another organisation")
    entry = JournalEntry(
        organisation_id=organisation_id,
        payment_id=payment_id,
        event_id=event_id,
        description=description[:300],
    )
    # In a consumer's burst both wait for its last statement (events/inbox.py):
    # a PaymentSettled that looks for the entry in the same burst does not find
    # it, raises EntryNotBookedYet, and the burst runs again event by event.
    rows_insert([entry])
    rows_insert(
        [
            JournalLine(
                entry=entry,
                account=posting.account,
                direction=posting.direction,
                amount=posting.amount,
                # A line is in its account's currency, so balances never mix them.
                currency=posting.account.currency,
            )
            for posting in postings
        ]
    )
    return entry


# Every PaymentSettled reads it: built and compiled once (config/db/compiled.py).
_ENTRY_LOCKED = CompiledGet(
    lambda payment_id: JournalEntry.objects.select_for_update().filter(
        payment_id=payment_id
    ),
    fields=lambda: {"payment_id": JournalEntry._meta.get_field("payment_id")},
    probe={"payment_id": uuid.UUID(int=8)},
)


def journal_entry_settle(
    *, payment_id, event_id, booked_amount: int, booking_date: date, at: datetime
) -> JournalEntry:
    """Post the payment's pending entry: the bank booked it, the money is gone.

    Must run inside the consumer's transaction. A posted entry stays posted
    (the inbox already skips a second PaymentSettled; the unique
    `posted_by_event_id` is a second belt). Raises EntryNotBookedYet when the
    approval has not reached the ledger.
    """
    entry = _ENTRY_LOCKED.get(payment_id=payment_id)
    if entry is None:
        raise EntryNotBookedYet(
            f"no journal entry for payment {payment_id} yet: its approval has not "
            "reached the ledger"
        )
    if entry.status == EntryStatus.POSTED:
        return entry
    entry.status = EntryStatus.POSTED
    entry.posted_at = at
    entry.booking_date = booking_date
    entry.booked_amount = booked_amount
    entry.posted_by_event_id = event_id
    entry.save(
        update_fields=[
            "status",
            "posted_at",
            "booking_date",
            "booked_amount",
            "posted_by_event_id",
        ]
    )
    return entry
