"""HTTP for notifications: the caller's own, newest first."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from api.lists import (
    NewestFirstCursorPagination,
    PaymentFilterSerializer,
    page_response,
    payment_filter,
)
from api.schema import PROBLEM_RESPONSES, READ_PROBLEMS
from notifications import selectors
from notifications.api.serializers import (
    NotificationSerializer,
)
from organisations.selectors import organisation_id_for


class NotificationListApi(APIView):
    pagination_class = NewestFirstCursorPagination  # also tells the schema it pages

    @extend_schema(
        parameters=[PaymentFilterSerializer],
        responses={
            200: NotificationSerializer(many=True),
            400: PROBLEM_RESPONSES[400],
            **READ_PROBLEMS,
        },
        summary="Your notifications, newest first (cursor pagination); ?payment=<id>",
        operation_id="notifications_list",
        tags=["notifications"],
    )
    def get(self, request):
        notifications = selectors.notification_list(
            recipient=request.user,
            organisation_id=organisation_id_for(user=request.user),
            payment_id=payment_filter(request),
        )
        return page_response(self, request, notifications, NotificationSerializer)
