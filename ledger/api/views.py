"""HTTP for the ledger: read-only views of the caller's organisation's books."""

from drf_spectacular.utils import extend_schema
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import PROBLEM_RESPONSES, READ_PROBLEMS, results_of
from ledger import selectors
from ledger.api.serializers import (
    AccountSerializer,
    JournalEntrySerializer,
    PaymentFilterSerializer,
)
from organisations.selectors import organisation_id_for


class EntryCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


class LedgerAccountListApi(APIView):
    @extend_schema(
        responses={
            200: results_of(AccountSerializer, "LedgerAccountList"),
            **READ_PROBLEMS,
        },
        summary="Your organisation's ledger accounts with balances (debits - credits)",
        tags=["ledger"],
    )
    def get(self, request):
        accounts = selectors.account_list(
            organisation_id=organisation_id_for(user=request.user)
        )
        return Response({"results": AccountSerializer(accounts, many=True).data})


class LedgerEntryListApi(APIView):
    pagination_class = EntryCursorPagination  # also tells the schema it pages

    @extend_schema(
        parameters=[PaymentFilterSerializer],
        responses={
            200: JournalEntrySerializer(many=True),
            400: PROBLEM_RESPONSES[400],
            **READ_PROBLEMS,
        },
        summary="Journal entries, newest first (cursor pagination); ?payment=<id>",
        tags=["ledger"],
    )
    def get(self, request):
        organisation_id = organisation_id_for(user=request.user)
        query = PaymentFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = selectors.entry_list(
            organisation_id=organisation_id,
            payment_id=query.validated_data.get("payment"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(
            JournalEntrySerializer(page, many=True).data
        )
