"""Read the books for the API: accounts with derived balances, and entries.

Sign convention: an account's `balance` is its debits minus its credits, in
minor units. Approving a payment debits payments in transit (+amount) and
credits the debtor's bank account (-amount; no opening balances are recorded,
so a bank account shows the net amount paid out of it as a negative number).
"""

from django.db.models import BigIntegerField, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from ledger.models import Account, Direction, JournalEntry, JournalLine


def _total(direction: str):
    return Coalesce(
        Sum("lines__amount", filter=Q(lines__direction=direction)),
        Value(0),
        output_field=BigIntegerField(),
    )


def account_list(*, organisation_id) -> QuerySet[Account]:
    """Return the organisation's accounts annotated with debits, credits, balance."""
    return (
        Account.objects.filter(organisation_id=organisation_id)
        .annotate(debits=_total(Direction.DEBIT), credits=_total(Direction.CREDIT))
        .annotate(balance=F("debits") - F("credits"))
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
