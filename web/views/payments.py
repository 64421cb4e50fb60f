"""Payments: the list with its filter and the new-payment form, one payment's page
with the decisions the user may take and its events' flow, and the flow as JSON.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts.currencies import format_amount
from domain.errors import DomainError, Invalid
from organisations.errors import RoleRequired
from organisations.selectors import membership_get
from payments import selectors, services
from payments.errors import PaymentNotFound
from payments.events import REPORTED_STATUS_EVENTS, STATUS_EVENTS
from payments.models import PaymentStatus
from web.decisions import approval_decision, cancel_decision, submission_decision
from web.flow import payment_flow
from web.forms import PaymentSubmitForm, RejectForm
from web.pages import no_organisation, not_found, render_page, signed_in

STATUS_TABS = [
    (PaymentStatus.PENDING_APPROVAL, "Awaiting approval"),
    (PaymentStatus.APPROVED, "Approved"),
    (PaymentStatus.RELEASED, "Released"),
    (PaymentStatus.SETTLED, "Settled"),
    (PaymentStatus.REJECTED, "Rejected"),
    (PaymentStatus.CANCELLED, "Cancelled"),
]


def _list_page(request, membership, form=None):
    status = request.GET.get("status", "")
    if status not in PaymentStatus.values:
        status = ""
    payments = selectors.payment_list(
        organisation_id=membership.organisation_id, status=status or None
    ).order_by("-created_at", "-id")
    page = Paginator(payments, 25).get_page(request.GET.get("page"))
    submission = submission_decision(membership=membership)
    if form is None and submission.allowed:
        form = PaymentSubmitForm(
            accounts=selectors.account_list(organisation_id=membership.organisation_id)
        )
    return render_page(
        request,
        "web/payments.html",
        {
            "page": page,
            "query": f"status={status}" if status else "",
            "status": status,
            "statuses": STATUS_TABS,
            "form": form,
            "submission": submission,
        },
        lesson="payments",
    )


@signed_in
def payment_list(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    return _list_page(request, membership)


@signed_in
@require_POST
def payment_submit(request):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    form = PaymentSubmitForm(
        request.POST,
        accounts=selectors.account_list(organisation_id=membership.organisation_id),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            payment = services.payment_submit(
                actor=request.user,
                debtor_account_id=form.account.id,
                amount=data["amount_minor"],
                currency=form.account.currency,
                creditor_name=data["creditor_name"],
                creditor_iban=data["creditor_iban"],
                reference=data["reference"],
            )
        except Invalid as exc:
            form.add_service_errors(exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(
                request,
                f"Submitted {format_amount(payment.amount, payment.currency)} to "
                f"{payment.creditor_name}. The payment row and PaymentSubmitted were "
                "committed together; watch the event travel below.",
            )
            return redirect("web:payment", payment_id=payment.id)
    # 200 with the errors beside their fields: the page is the answer.
    return _list_page(request, membership, form=form)


def _payment_or_none(membership, payment_id):
    try:
        return selectors.payment_get(
            organisation_id=membership.organisation_id, payment_id=payment_id
        )
    except PaymentNotFound:
        return None


@signed_in
def payment_detail(request, payment_id):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    payment = _payment_or_none(membership, payment_id)
    if payment is None:
        return not_found(request, "No payment with this id in your organisation.")
    return render_page(
        request,
        "web/payment.html",
        {
            "payment": payment,
            "amount": format_amount(payment.amount, payment.currency),
            "approval": approval_decision(payment=payment, membership=membership),
            "cancel": cancel_decision(payment=payment, membership=membership),
            "reject_form": RejectForm(),
            "flow": payment_flow(
                organisation_id=membership.organisation_id, payment=payment
            ),
            "may_operate": membership.is_approver or request.user.is_staff,
        },
        lesson="payment",
    )


def _decide(request, payment_id, command, done: str):
    membership = membership_get(user=request.user)
    if membership is None:
        return no_organisation(request)
    try:
        payment = command()
    except PaymentNotFound:
        return not_found(request, "No payment with this id in your organisation.")
    except Invalid as exc:
        messages.error(request, _first_error(exc))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        event = {**STATUS_EVENTS, **REPORTED_STATUS_EVENTS}.get(
            payment.status, "The event"
        )
        messages.success(request, done.format(event=event))
    return redirect(reverse("web:payment", args=[payment_id]) + "#flow")


def _first_error(exc: Invalid) -> str:
    for field_errors in exc.errors.values():
        if field_errors:
            return str(field_errors[0])
    return exc.detail


DONE = (
    "{event} was committed to the outbox with the new status; watch the relay "
    "publish it and each consumer apply it."
)


@signed_in
@require_POST
def payment_approve(request, payment_id):
    return _decide(
        request,
        payment_id,
        lambda: services.payment_approve(payment_id=payment_id, actor=request.user),
        "Approved. " + DONE,
    )


@signed_in
@require_POST
def payment_reject(request, payment_id):
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return redirect("web:payment", payment_id=payment_id)
    return _decide(
        request,
        payment_id,
        lambda: services.payment_reject(
            payment_id=payment_id,
            actor=request.user,
            reason=form.cleaned_data["reason"],
        ),
        "Rejected. " + DONE,
    )


@signed_in
@require_POST
def payment_cancel(request, payment_id):
    return _decide(
        request,
        payment_id,
        lambda: services.payment_cancel(payment_id=payment_id, actor=request.user),
        "Cancelled. " + DONE,
    )


class PaymentFlowApi(APIView):
    """The flow view's data, polled by web/static/web/flow.js."""

    schema = None  # a page's own read, not part of the public API

    def get(self, request, payment_id):
        membership = membership_get(user=request.user)
        if membership is None:
            raise RoleRequired("You do not belong to an organisation.")
        payment = selectors.payment_get(
            organisation_id=membership.organisation_id, payment_id=payment_id
        )
        return Response(
            payment_flow(organisation_id=membership.organisation_id, payment=payment)
        )
