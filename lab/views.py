"""The fault lab (demo mode only): its page, and JSON controls the page calls
beside the API's own (lab/api/: /api/v1/consumers/..., /events/.../redeliver).

Like the API's fault controls: 404 outside demo mode; a control that reaches
one organisation's events is for its approvers (or staff), one that acts for
every organisation (the relay switch, a poison message swapped into a shared
queue) for operators. The lab's payment commands are the payments service's
own, run as the signed-in user: the same rules as everywhere, maker-checker
included. See docs/lessons/fault-controls.md.
"""

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers, status
from rest_framework.response import Response

from api.idempotency import idempotent
from contracts.currencies import format_amount
from domain.errors import Invalid
from events.relay_switch import relay_pause_set
from iso20022.bank_simulator import SimulatorOptions
from lab.api.serializers import ConsumerField
from lab.api.views import FaultControlApi
from lab.bank import bank_statement_request
from lab.demo_payments import lab_payment_submit
from lab.poison import dead_letters_repair, poison_send
from lab.replay import organisation_replay
from lab.selectors import delivery_tally, outbox_waiting
from organisations.errors import NoOrganisation
from organisations.selectors import is_operator, membership_get
from payments import selectors
from payments.services import payment_approve
from web.flow import relay_status
from web.pages import not_found, render_page, signed_in


@signed_in
def lab_page(request):
    if not settings.DEMO_MODE:
        return not_found(request)
    membership = membership_get(user=request.user)
    payments = []
    if membership is not None:
        payments = list(
            selectors.payment_list(organisation_id=membership.organisation_id)
            .order_by("-created_at", "-id")
            .select_related("debtor_account")[:30]
        )
        for payment in payments:
            payment.amount_text = format_amount(payment.amount, payment.currency)
    return render_page(
        request,
        "lab/lab.html",
        {
            "payments": payments,
            "consumers": settings.EVENT_CONSUMERS,
            # The ledger's books show a fault best; any consumer can be chosen.
            "default_consumer": "ledger"
            if "ledger" in settings.EVENT_CONSUMERS
            else next(iter(settings.EVENT_CONSUMERS), ""),
            # Reaches only your organisation's events (redeliver, replay, redrive).
            "may_approve": request.user.is_staff
            or bool(membership and membership.is_approver),
            # Acts for every organisation (pause, relay, poison, reverse).
            "may_operate": is_operator(user=request.user),
            "approver_reason": "Redeliver, replay and redrive reach your "
            "organisation's events: approvers only.",
            "operator_reason": _operator_reason(),
        },
        lesson="lab",
    )


def _operator_reason() -> str:
    operators = " and ".join(settings.DEMO_OPERATORS)
    return (
        "Pausing a consumer, stopping the relay and rewriting a partition queue "
        "act for every organisation: operators only (staff"
        + (f"; in this demo also {operators}" if operators else "")
        + ")."
    )


class ConsumerBody(serializers.Serializer):
    consumer = ConsumerField()


class PoisonBody(ConsumerBody):
    payment_id = serializers.UUIDField()


class RepairBody(ConsumerBody):
    event_id = serializers.UUIDField(required=False)


class ReplayBody(ConsumerBody):
    payment_id = serializers.UUIDField(required=False)


class RelayBody(serializers.Serializer):
    paused = serializers.BooleanField()


class LabApi(FaultControlApi):
    """A control of the lab's own: demo mode only, not in OpenAPI."""

    schema = None

    def member_organisation_id(self, request):
        """Return the caller's organisation id (None for staff without one)."""
        membership = membership_get(user=request.user)
        if membership is not None:
            return membership.organisation_id
        if request.user.is_staff:
            return None
        raise NoOrganisation("Ask an administrator to add you to an organisation.")


def _body(serializer_class, request) -> dict:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class LabPoisonApi(LabApi):
    @idempotent
    def post(self, request):
        # Operators only: it rewrites a partition queue every organisation shares.
        organisation_id = self.operator_organisation_id(request)
        body = _body(PoisonBody, request)
        done = poison_send(
            consumer=body["consumer"],
            payment_id=body["payment_id"],
            organisation_id=organisation_id,
        )
        return Response(done, status=status.HTTP_202_ACCEPTED)


class LabRepairApi(LabApi):
    @idempotent
    def post(self, request):
        body = _body(RepairBody, request)
        done = dead_letters_repair(
            consumer=body["consumer"],
            organisation_id=self.approver_organisation_id(request),
            event_id=body.get("event_id"),
        )
        return Response(done)


class LabReplayApi(LabApi):
    @idempotent
    def post(self, request):
        body = _body(ReplayBody, request)
        started = timezone.now()
        done = organisation_replay(
            consumer=body["consumer"],
            organisation_id=self.approver_organisation_id(request),
            payment_id=body.get("payment_id"),
        )
        return Response(
            {**done, "started_at": started}, status=status.HTTP_202_ACCEPTED
        )


class LabRelayApi(LabApi):
    @idempotent
    def post(self, request):
        self.operator_organisation_id(request)
        paused = _body(RelayBody, request)["paused"]
        relay_pause_set(paused=paused)
        return Response(
            {
                **relay_status(),
                "paused": paused,
                "detail": (
                    "The relay stops publishing within a cycle; commands still "
                    "commit, and their events wait in the outbox."
                    if paused
                    else "The relay publishes the waiting events, oldest first."
                ),
            }
        )


class LabDemoPaymentApi(LabApi):
    """Submit a test payment as the signed-in user (a maker; the service decides)."""

    @idempotent
    def post(self, request):
        payment = lab_payment_submit(actor=request.user)
        return Response(_payment_made(payment), status=status.HTTP_201_CREATED)


class LabDemoApproveApi(LabApi):
    """Approve as the signed-in user: payments' own command, so a refusal (your
    own payment, not an approver, not pending) is the payments API's problem."""

    @idempotent
    def post(self, request, payment_id):
        payment = payment_approve(payment_id=payment_id, actor=request.user)
        return Response(_payment_made(payment))


def _payment_made(payment) -> dict:
    return {
        "id": str(payment.id),
        "status": payment.status,
        "amount": format_amount(payment.amount, payment.currency),
        "creditor": payment.creditor_name,
        "submitted_by": payment.submitted_by.get_username(),
        "approved_by": payment.approved_by.get_username()
        if payment.approved_by
        else None,
    }


class LabStateApi(LabApi):
    """The relay, the organisation's waiting outbox rows, and a delivery tally."""

    def get(self, request):
        organisation_id = self.member_organisation_id(request)
        state = {
            "relay": relay_status(),
            "outbox_waiting": outbox_waiting(organisation_id=organisation_id),
            "tally": None,
        }
        consumer = request.query_params.get("consumer")
        if consumer:
            try:
                since = parse_datetime(request.query_params.get("since", ""))
            except ValueError:
                since = None
            if since is None:
                raise Invalid(errors={"since": ["An ISO 8601 date-time."]})
            state["tally"] = delivery_tally(
                consumer=consumer, organisation_id=organisation_id, since=since
            )
        return Response(state)


class BankBody(serializers.Serializer):
    amount_delta = serializers.IntegerField(required=False, default=0)
    bank_fee = serializers.IntegerField(required=False, default=0, min_value=0)
    batch = serializers.BooleanField(required=False, default=False)
    end_to_end_not_provided = serializers.BooleanField(required=False, default=False)
    again = serializers.BooleanField(required=False, default=False)
    malformed = serializers.BooleanField(required=False, default=False)


class LabBankApi(LabApi):
    """Ask the simulated bank for today's statement now (approvers)."""

    @idempotent
    def post(self, request):
        organisation_id = self.approver_organisation_id(request)
        if organisation_id is None:
            raise NoOrganisation("The bank writes an organisation's statement.")
        body = _body(BankBody, request)
        again, malformed = body.pop("again"), body.pop("malformed")
        return Response(
            bank_statement_request(
                organisation_id=organisation_id,
                options=SimulatorOptions(**body),
                again=again,
                malformed=malformed,
            )
        )
