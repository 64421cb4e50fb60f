"""HTTP for notifications: the caller's own, newest first."""

from drf_spectacular.utils import extend_schema
from rest_framework.pagination import CursorPagination
from rest_framework.views import APIView

from api.schema import PROBLEM_RESPONSES, READ_PROBLEMS
from notifications import selectors
from notifications.api.serializers import (
    NotificationSerializer,
    PaymentFilterSerializer,
)
from organisations.selectors import organisation_id_for


class NotificationCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


class NotificationListApi(APIView):
    pagination_class = NotificationCursorPagination  # also tells the schema it pages

    @extend_schema(
        parameters=[PaymentFilterSerializer],
        responses={
            200: NotificationSerializer(many=True),
            400: PROBLEM_RESPONSES[400],
            **READ_PROBLEMS,
        },
        summary="Your notifications, newest first (cursor pagination); ?payment=<id>",
        tags=["notifications"],
    )
    def get(self, request):
        organisation_id = organisation_id_for(user=request.user)
        query = PaymentFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        notifications = selectors.notification_list(
            recipient=request.user,
            organisation_id=organisation_id,
            payment_id=query.validated_data.get("payment"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(notifications, request, view=self)
        return paginator.get_paginated_response(
            NotificationSerializer(page, many=True).data
        )
