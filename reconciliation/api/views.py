"""HTTP for reconciliation: the caller's organisation's expected settlements."""

from drf_spectacular.utils import extend_schema
from rest_framework.pagination import CursorPagination
from rest_framework.views import APIView

from api.schema import PROBLEM_RESPONSES, READ_PROBLEMS
from organisations.selectors import organisation_id_for
from reconciliation import selectors
from reconciliation.api.serializers import (
    ExpectationSerializer,
    PaymentFilterSerializer,
)


class ExpectationCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


class ExpectationListApi(APIView):
    pagination_class = ExpectationCursorPagination  # also tells the schema it pages

    @extend_schema(
        parameters=[PaymentFilterSerializer],
        responses={
            200: ExpectationSerializer(many=True),
            400: PROBLEM_RESPONSES[400],
            **READ_PROBLEMS,
        },
        summary="Expected settlements, newest first (cursor pagination); ?payment=<id>",
        tags=["reconciliation"],
    )
    def get(self, request):
        organisation_id = organisation_id_for(user=request.user)
        query = PaymentFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        expectations = selectors.expectation_list(
            organisation_id=organisation_id,
            payment_id=query.validated_data.get("payment"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(expectations, request, view=self)
        return paginator.get_paginated_response(
            ExpectationSerializer(page, many=True).data
        )
