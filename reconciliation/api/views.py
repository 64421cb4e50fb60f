"""HTTP for reconciliation: the caller's organisation's expected settlements."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from api.lists import (
    NewestFirstCursorPagination,
    PaymentFilterSerializer,
    page_response,
    payment_filter,
)
from api.schema import PROBLEM_RESPONSES, READ_PROBLEMS
from organisations.selectors import organisation_id_for
from reconciliation import selectors
from reconciliation.api.serializers import (
    ExpectationSerializer,
)


class ExpectationListApi(APIView):
    pagination_class = NewestFirstCursorPagination  # also tells the schema it pages

    @extend_schema(
        parameters=[PaymentFilterSerializer],
        responses={
            200: ExpectationSerializer(many=True),
            400: PROBLEM_RESPONSES[400],
            **READ_PROBLEMS,
        },
        summary="Expected settlements, newest first (cursor pagination); ?payment=<id>",
        operation_id="reconciliation_expectations_list",
        tags=["reconciliation"],
    )
    def get(self, request):
        expectations = selectors.expectation_list(
            organisation_id=organisation_id_for(user=request.user),
            payment_id=payment_filter(request),
        )
        return page_response(self, request, expectations, ExpectationSerializer)
