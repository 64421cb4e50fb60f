"""HTTP for the ledger: read-only views of the caller's organisation's books."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.lists import (
    NewestFirstCursorPagination,
    PaymentFilterSerializer,
    page_response,
    payment_filter,
)
from api.schema import PROBLEM_RESPONSES, READ_PROBLEMS, results_of
from ledger import selectors
from ledger.api.serializers import (
    JournalEntrySerializer,
    LedgerAccountSerializer,
)
from organisations.selectors import organisation_id_for


class LedgerAccountListApi(APIView):
    @extend_schema(
        responses={
            200: results_of(LedgerAccountSerializer, "LedgerAccountList"),
            **READ_PROBLEMS,
        },
        summary="Your organisation's ledger accounts with balances (debits - credits)",
        operation_id="ledger_accounts_list",
        tags=["ledger"],
    )
    def get(self, request):
        accounts = selectors.account_list(
            organisation_id=organisation_id_for(user=request.user)
        )
        return Response({"results": LedgerAccountSerializer(accounts, many=True).data})


class LedgerEntryListApi(APIView):
    pagination_class = NewestFirstCursorPagination  # also tells the schema it pages

    @extend_schema(
        parameters=[PaymentFilterSerializer],
        responses={
            200: JournalEntrySerializer(many=True),
            400: PROBLEM_RESPONSES[400],
            **READ_PROBLEMS,
        },
        summary="Journal entries, newest first (cursor pagination); ?payment=<id>",
        operation_id="ledger_entries_list",
        tags=["ledger"],
    )
    def get(self, request):
        entries = selectors.entry_list(
            organisation_id=organisation_id_for(user=request.user),
            payment_id=payment_filter(request),
        )
        return page_response(self, request, entries, JournalEntrySerializer)
