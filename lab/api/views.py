"""HTTP for the demo's fault controls: parse, call, render.

The fault controls exist only in demo mode (otherwise 404, as if they did not).
Those that reach one organisation's events are for its approvers (or staff);
those that act for every organisation (pausing, rewriting a shared queue) are
for operators. See docs/lessons/fault-controls.md.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.schema import IDEMPOTENCY_KEY, WRITE_PROBLEMS, ProblemSerializer
from domain.errors import NotFound
from events.api.serializers import RelayStateSerializer
from events.relay_switch import relay_overview, relay_pause_set
from lab import faults
from lab.api.serializers import (
    ConsumerPausedSerializer,
    ConsumerReadsSerializer,
    ConsumerReadsSetSerializer,
    DeliveredReversedSerializer,
    DeliverReversedSerializer,
    EventVersionSwitchedSerializer,
    EventVersionSwitchSerializer,
    RedeliveredSerializer,
    RedrivenSerializer,
    RedriveSerializer,
)
from lab.consumer_releases import consumer_reads_set
from organisations.errors import RoleRequired
from organisations.selectors import membership_get, operator_check
from payments.event_versions import event_version_switch

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


class FaultControlApi(APIView):
    """A demo-only control: 404 outside demo mode, then as each control says."""

    def initial(self, request, *args, **kwargs):
        # Before authentication, so outside demo mode nobody learns it exists.
        if not settings.DEMO_MODE:
            raise NotFound("No such resource.")
        super().initial(request, *args, **kwargs)

    def approver_organisation_id(self, request):
        """For a control that reaches only the caller's organisation's events:
        return its id (None for staff without one), or raise RoleRequired.
        """
        membership = membership_get(user=request.user)
        if not (request.user.is_staff or (membership and membership.is_approver)):
            raise RoleRequired("Fault controls are for approvers and staff.")
        return membership.organisation_id if membership else None

    def operator_organisation_id(self, request):
        """For a control that acts for every organisation (a pause switch, a
        rewrite of a shared queue): return the caller's organisation id (None
        without one), or raise OperatorRequired.
        """
        operator_check(user=request.user)
        membership = membership_get(user=request.user)
        return membership.organisation_id if membership else None


class EventRedeliverApi(FaultControlApi):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: RedeliveredSerializer, **CONTROL_PROBLEMS},
        summary="Publish a published event again (every consumer must skip it)",
        operation_id="events_redeliver",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, event_id):
        done = faults.event_redeliver(
            event_id=event_id,
            organisation_id=self.approver_organisation_id(request),
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
        summary="Pause a consumer for every organisation (operators): its events "
        "wait in the broker",
        operation_id="consumers_pause",
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
        summary="Resume a paused consumer (operators): it works off its backlog",
        operation_id="consumers_resume",
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
        summary="Pause the relay for every organisation (operators): committed "
        "events wait in the outbox",
        operation_id="relay_pause",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request):
        self.operator_organisation_id(request)
        relay_pause_set(paused=self.paused)
        return Response(
            RelayStateSerializer({**relay_overview(), "scope": "global"}).data
        )


class RelayResumeApi(RelayPauseApi):
    paused = False

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: RelayStateSerializer, **CONTROL_PROBLEMS},
        summary="Resume the relay (operators): it drains the outbox in order",
        operation_id="relay_resume",
        tags=["fault controls"],
    )
    def post(self, request):
        return super().post(request)


class PaymentDeliverReversedApi(FaultControlApi):
    @extend_schema(
        request=DeliverReversedSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: DeliveredReversedSerializer, **CONTROL_PROBLEMS},
        summary="Deliver your payment's last two events to paused consumers, "
        "later first (operators: it rewrites a shared partition queue)",
        operation_id="payments_deliver_reversed",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, payment_id):
        organisation_id = self.operator_organisation_id(request)
        body = DeliverReversedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = faults.payment_deliver_reversed(
            payment_id=payment_id,
            organisation_id=organisation_id,
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
        operation_id="consumers_dead_letters_redrive",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, name):
        body = RedriveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = faults.dead_letters_redrive(
            consumer=name,
            organisation_id=self.approver_organisation_id(request),
            event_id=body.validated_data.get("event_id"),
        )
        return Response(RedrivenSerializer(done).data)


class EventVersionSwitchApi(FaultControlApi):
    @extend_schema(
        request=EventVersionSwitchSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: EventVersionSwitchedSerializer, **CONTROL_PROBLEMS},
        operation_id="event_versions_switch",
        summary="Switch the version payments publishes of an event type "
        "(operators), without a restart",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, event_type):
        self.operator_organisation_id(request)
        body = EventVersionSwitchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = event_version_switch(
            event_type=event_type, version=body.validated_data["version"]
        )
        return Response(EventVersionSwitchedSerializer(done).data)


class ConsumerReadsApi(FaultControlApi):
    @extend_schema(
        request=ConsumerReadsSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: ConsumerReadsSetSerializer, **CONTROL_PROBLEMS},
        operation_id="consumers_reads_set",
        summary="Run a consumer as an older release that reads an event type only "
        "up to a version, or upgrade it back (operators)",
        tags=["fault controls"],
    )
    @idempotent
    def post(self, request, name):
        self.operator_organisation_id(request)
        body = ConsumerReadsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = consumer_reads_set(name=name, **body.validated_data)
        return Response(ConsumerReadsSetSerializer(done).data)
