"""What the consumers made of the events: the ledger, your notifications, and
reconciliation's expected settlements. Each reads its own app's selectors.
"""

import uuid

from django.core.paginator import Paginator

from contracts.currencies import format_amount
from ledger import selectors as ledger_selectors
from notifications import selectors as notification_selectors
from organisations.selectors import membership_get
from reconciliation import selectors as reconciliation_selectors
from web.pages import no_organisation, render_page, signed_in


def _payment_filter(request) -> str | None:
    try:
        return str(uuid.UUID(request.GET.get("payment", "")))
    except ValueError:
        return None


@signed_in
def ledger(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    payment_id = _payment_filter(request)
    accounts = list(
        ledger_selectors.account_list(organisation_id=membership.organisation_id)
    )
    for account in accounts:
        account.debits_text = format_amount(account.debits, account.currency)
        account.credits_text = format_amount(account.credits, account.currency)
        account.balance_text = format_amount(account.balance, account.currency)
        account.posted_text = format_amount(account.posted, account.currency)
        account.pending_text = format_amount(account.pending, account.currency)
        account.available_text = format_amount(account.available, account.currency)
    entries = ledger_selectors.entry_list(
        organisation_id=membership.organisation_id, payment_id=payment_id
    ).order_by("-created_at", "-id")
    page = Paginator(entries, 20).get_page(request.GET.get("page"))
    for entry in page:
        entry.rows = [
            {
                "account": line.account,
                "debit": format_amount(line.amount, line.currency)
                if line.direction == "debit"
                else "",
                "credit": format_amount(line.amount, line.currency)
                if line.direction == "credit"
                else "",
            }
            for line in entry.lines.all()
        ]
    return render_page(
        request,
        "web/ledger.html",
        {"accounts": accounts, "page": page, "payment_id": payment_id},
        lesson="ledger",
    )


@signed_in
def notifications(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    payment_id = _payment_filter(request)
    items = notification_selectors.notification_list(
        recipient=request.user,
        organisation_id=membership.organisation_id,
        payment_id=payment_id,
    )
    page = Paginator(items, 25).get_page(request.GET.get("page"))
    return render_page(
        request,
        "web/notifications.html",
        {"page": page, "payment_id": payment_id},
        lesson="notifications",
    )


@signed_in
def reconciliation(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    payment_id = _payment_filter(request)
    expectations = reconciliation_selectors.expectation_list(
        organisation_id=membership.organisation_id, payment_id=payment_id
    )
    page = Paginator(expectations, 25).get_page(request.GET.get("page"))
    for expectation in page:
        expectation.amount_text = format_amount(
            expectation.amount, expectation.currency
        )
    return render_page(
        request,
        "web/reconciliation.html",
        {"page": page, "payment_id": payment_id},
        lesson="reconciliation",
    )
