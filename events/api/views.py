"""HTTP for the consumers' state and the demo's fault controls: parse, call, render.

The fault controls exist only in demo mode (otherwise 404, as if they did not)
and only for approvers or staff. See docs/lessons/fault-controls.md.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import NotFound
from api.idempotency import idempotent
from api.schema import IDEMPOTENCY_KEY, READ_PROBLEMS, WRITE_PROBLEMS, ProblemSerializer
from events import faults
from events.api.serializers import (
    ConsumerListSerializer,
    ConsumerPausedSerializer,
    DeliveredReversedSerializer,
    DeliverReversedSerializer,
    RedeliveredSerializer,
    RedrivenSerializer,
    RedriveSerializer,
    RelayStateSerializer,
)
from events.monitoring import consumer_overview, relay_failures
from events.relay_switch import relay_overview, relay_pause_set
from organisations.selectors import (
    RoleRequired,
    membership_get,
    organisation_id_for,
)


def _reader_check(request) -> None:
    # Broker and relay state hold no tenant data: any organisation may look.
    if not request.user.is_staff:
        organisation_id_for(user=request.user)


CONTROL_PROBLEMS = {
    **WRITE_PROBLEMS,
    404: OpenApiResponse(
        response=ProblemSerializer,
        description="Not in demo mode, or not found (including another "
        "organisation's events).",
    ),
    503: OpenApiResponse(
        response=ProblemSerializer, description="The broker cannot be reached."
    ),
}


class ConsumerListApi(APIView):
    @extend_schema(
        responses={200: ConsumerListSerializer, **READ_PROBLEMS},
        summary="Each consumer: queues and backlog, dead letters, parked, paused, "
        "running",
        tags=["consumers"],
    )
    def get(self, request):
        _reader_check(request)
        return Response(ConsumerListSerializer(consumer_overview()).data)


class RelayStateApi(APIView):
    @extend_schema(
        responses={200: RelayStateSerializer, **READ_PROBLEMS},
        summary="The relay: paused or running, its leader, the outbox backlog, "
        "the rows it could not publish",
        tags=["consumers"],
    )
    def get(self, request):
        _reader_check(request)
        # Failed rows name events and errors: tenant data, unlike the counts.
        organisation_id = (
            None if request.user.is_staff else organisation_id_for(user=request.user)
        )
        state = {
            **relay_overview(),
            "failures": relay_failures(organisation_id=organisation_id),
        }
        return Response(RelayStateSerializer(state).data)


class FaultControlApi(APIView):
    """A demo-only control: 404 outside demo mode, then approvers or staff only."""

    def initial(self, request, *args, **kwargs):
        # Before authentication, so outside demo mode nobody learns it exists.
        if not settings.DEMO_MODE:
            raise NotFound("No such resource.")
        super().initial(request, *args, **kwargs)

    def operator_organisation_id(self, request):
        """Return the caller's organisation id (None for staff without one)."""
        membership = membership_get(user=request.user)
        if not (request.user.is_staff or (membership and membership.is_approver)):
            raise RoleRequired("Fault controls are for approvers and staff.")
        return membership.organisation_id if membership else None


class EventRedeliverApi(FaultControlApi):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: RedeliveredSerializer, **CONTROL_PROBLEMS},
        summary="Publish a published event again (every consumer must skip it)",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, event_id):
        done = faults.event_redeliver(
            event_id=event_id,
            organisation_id=self.operator_organisation_id(request),
        )
        return Response(
            RedeliveredSerializer(done).data, status=status.HTTP_202_ACCEPTED
        )


class ConsumerPauseApi(FaultControlApi):
    paused = True

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: ConsumerPausedSerializer, **CONTROL_PROBLEMS},
        summary="Pause a consumer: its events wait in the broker",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, name):
        self.operator_organisation_id(request)
        done = faults.consumer_pause(name=name, paused=self.paused)
        return Response(ConsumerPausedSerializer(done).data)


class ConsumerResumeApi(ConsumerPauseApi):
    paused = False

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: ConsumerPausedSerializer, **CONTROL_PROBLEMS},
        summary="Resume a paused consumer: it works off its backlog",
        tags=["fault controls"],
    )
    def post(self, request, name):
        return super().post(request, name)


class RelayPauseApi(FaultControlApi):
    paused = True

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: RelayStateSerializer, **CONTROL_PROBLEMS},
        summary="Pause the relay: committed events wait in the outbox",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request):
        self.operator_organisation_id(request)
        relay_pause_set(paused=self.paused)
        return Response(RelayStateSerializer(relay_overview()).data)


class RelayResumeApi(RelayPauseApi):
    paused = False

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: RelayStateSerializer, **CONTROL_PROBLEMS},
        summary="Resume the relay: it drains the outbox in order",
        tags=["fault controls"],
    )
    def post(self, request):
        return super().post(request)


class PaymentDeliverReversedApi(FaultControlApi):
    @extend_schema(
        request=DeliverReversedSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: DeliveredReversedSerializer, **CONTROL_PROBLEMS},
        summary="Deliver a payment's last two events to paused consumers, later "
        "first (the later one parks)",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, payment_id):
        body = DeliverReversedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = faults.payment_deliver_reversed(
            payment_id=payment_id,
            organisation_id=self.operator_organisation_id(request),
            consumer=body.validated_data.get("consumer"),
        )
        return Response(
            DeliveredReversedSerializer(done).data, status=status.HTTP_202_ACCEPTED
        )


class DeadLetterRedriveApi(FaultControlApi):
    @extend_schema(
        request=RedriveSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: RedrivenSerializer, **CONTROL_PROBLEMS},
        summary="Move your organisation's dead letters back to the consumer's "
        "partition queues",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, name):
        body = RedriveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = faults.dead_letters_redrive(
            consumer=name,
            organisation_id=self.operator_organisation_id(request),
            event_id=body.validated_data.get("event_id"),
        )
        return Response(RedrivenSerializer(done).data)
