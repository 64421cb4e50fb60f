"""Read the books for the API: accounts with derived balances, and entries.

Sign convention: an account's `balance` is its debits minus its credits, in
minor units. Approving a payment debits payments in transit (+amount) and
credits the debtor's bank account (-amount; no opening balances are recorded,
so a bank account shows the net amount paid out of it as a negative number).
The entry is pending until the bank's statement settles it, then posted.
"""

from django.db.models import BigIntegerField, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from ledger.models import Account, Direction, EntryStatus, JournalEntry, JournalLine


def _total(direction: str, status: str | None = None):
    match = Q(lines__direction=direction)
    if status is not None:
        match &= Q(lines__entry__status=status)
    return Coalesce(
        Sum("lines__amount", filter=match), Value(0), output_field=BigIntegerField()
    )


def account_list(*, organisation_id) -> QuerySet[Account]:
    """Return the organisation's accounts with their balances, two-phase.

    `posted` counts entries the bank statement settled, `pending` the approved
    ones still in flight, `balance` both. `available` is what may still be
    spent: posted, minus pending outflows (credits), with pending inflows not
    counted until they post (as Modern Treasury and TigerBeetle reckon it).
    """
    pending, posted = EntryStatus.PENDING, EntryStatus.POSTED
    return (
        Account.objects.filter(organisation_id=organisation_id)
        .annotate(
            debits=_total(Direction.DEBIT),
            credits=_total(Direction.CREDIT),
            posted_debits=_total(Direction.DEBIT, posted),
            posted_credits=_total(Direction.CREDIT, posted),
            pending_debits=_total(Direction.DEBIT, pending),
            pending_credits=_total(Direction.CREDIT, pending),
        )
        .annotate(
            balance=F("debits") - F("credits"),
            posted=F("posted_debits") - F("posted_credits"),
            pending=F("pending_debits") - F("pending_credits"),
            available=F("posted_debits") - F("posted_credits") - F("pending_credits"),
        )
        .order_by("currency", "kind", "name", "id")
    )


def entry_list(*, organisation_id, payment_id=None) -> QuerySet[JournalEntry]:
    """Return the organisation's journal entries, optionally for one payment."""
    entries = JournalEntry.objects.filter(organisation_id=organisation_id)
    if payment_id is not None:
        entries = entries.filter(payment_id=payment_id)
    return entries.prefetch_related(
        Prefetch(
            "lines",
            queryset=JournalLine.objects.select_related("account").order_by("id"),
        )
    )
