"""HTTP for payments: one thin view per action; parse, call one service, render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.lists import page_response
from api.schema import (
    IDEMPOTENCY_KEY,
    PROBLEM_RESPONSES,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
)
from organisations.selectors import organisation_id_for
from payments import selectors, services
from payments.api.serializers import (
    DebtorAccountListSerializer,
    DebtorAccountSerializer,
    EventVersionFilterSerializer,
    PaymentEventListSerializer,
    PaymentEventSerializer,
    PaymentPageSerializer,
    PaymentRejectSerializer,
    PaymentSerializer,
    PaymentStatusFilterSerializer,
    PaymentSubmitSerializer,
)


class AccountListApi(APIView):
    @extend_schema(
        responses={200: DebtorAccountListSerializer, **READ_PROBLEMS},
        summary="Your organisation's debtor accounts",
        operation_id="accounts_list",
        tags=["accounts"],
    )
    def get(self, request):
        accounts = selectors.account_list(
            organisation_id=organisation_id_for(user=request.user)
        )
        return Response({"results": DebtorAccountSerializer(accounts, many=True).data})


class PaymentListCreateApi(APIView):
    @extend_schema(
        parameters=[
            PaymentStatusFilterSerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 200."),
        ],
        responses={200: PaymentPageSerializer, **PROBLEM_RESPONSES, **READ_PROBLEMS},
        summary="List payments (cursor pagination, newest first)",
        operation_id="payments_list",
        tags=["payments"],
    )
    def get(self, request):
        query = PaymentStatusFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payments = selectors.payment_list(
            organisation_id=organisation_id_for(user=request.user),
            status=query.validated_data.get("status"),
        )
        return page_response(self, request, payments, PaymentSerializer)

    @extend_schema(
        request=PaymentSubmitSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PaymentSerializer, **WRITE_PROBLEMS},
        summary="Submit a payment (maker); emits PaymentSubmitted",
        operation_id="payments_submit",
        tags=["payments"],
    )
    @idempotent
    def post(self, request):
        body = PaymentSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        payment = services.payment_submit(
            actor=request.user,
            debtor_account_id=data["debtor_account"],
            amount=data["amount"],
            currency=data["currency"],
            creditor_name=data["creditor"]["name"],
            creditor_iban=data["creditor"]["iban"],
            reference=data["reference"],
        )
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentDetailApi(APIView):
    @extend_schema(
        responses={200: PaymentSerializer, **READ_PROBLEMS},
        summary="One payment",
        operation_id="payments_retrieve",
        tags=["payments"],
    )
    def get(self, request, payment_id):
        payment = selectors.payment_get(
            organisation_id=organisation_id_for(user=request.user),
            payment_id=payment_id,
        )
        return Response(PaymentSerializer(payment).data)


class PaymentApproveApi(APIView):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: PaymentSerializer, **WRITE_PROBLEMS},
        summary="Approve (an approver who did not submit it); emits PaymentApproved",
        operation_id="payments_approve",
        tags=["payments"],
    )
    @idempotent
    def post(self, request, payment_id):
        payment = services.payment_approve(payment_id=payment_id, actor=request.user)
        return Response(PaymentSerializer(payment).data)


class PaymentRejectApi(APIView):
    @extend_schema(
        request=PaymentRejectSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: PaymentSerializer, **WRITE_PROBLEMS},
        summary="Reject with a reason (an approver who did not submit it)",
        operation_id="payments_reject",
        tags=["payments"],
    )
    @idempotent
    def post(self, request, payment_id):
        body = PaymentRejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment = services.payment_reject(
            payment_id=payment_id,
            actor=request.user,
            reason=body.validated_data["reason"],
        )
        return Response(PaymentSerializer(payment).data)


class PaymentCancelApi(APIView):
    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: PaymentSerializer, **WRITE_PROBLEMS},
        summary="Cancel your own pending payment; emits PaymentCancelled",
        operation_id="payments_cancel",
        tags=["payments"],
    )
    @idempotent
    def post(self, request, payment_id):
        payment = services.payment_cancel(payment_id=payment_id, actor=request.user)
        return Response(PaymentSerializer(payment).data)


class PaymentEventListApi(APIView):
    @extend_schema(
        parameters=[EventVersionFilterSerializer],
        responses={
            200: PaymentEventListSerializer,
            **PROBLEM_RESPONSES,
            **READ_PROBLEMS,
        },
        summary="The events this payment produced, with their outbox state",
        operation_id="payment_events_list",
        tags=["payments"],
    )
    def get(self, request, payment_id):
        query = EventVersionFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = selectors.payment_event_list(
            organisation_id=organisation_id_for(user=request.user),
            payment_id=payment_id,
            version=query.validated_data.get("version"),
        )
        return Response({"results": PaymentEventSerializer(events, many=True).data})
