"""List endpoints: newest-first cursor pages and the shared `?payment=<id>` filter."""

import uuid

from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class NewestFirstCursorPagination(CursorPagination):
    """Stable pages over rows that keep arriving (offsets would skip or repeat)."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


class PaymentFilterSerializer(serializers.Serializer):
    payment = serializers.UUIDField(
        required=False, help_text="Only what concerns this payment."
    )


def payment_filter(request) -> uuid.UUID | None:
    """Return the validated `?payment=` id, or None; a malformed one is a 400."""
    query = PaymentFilterSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("payment")


def page_response(view, request, queryset, serializer_class) -> Response:
    """Render one cursor page of the queryset: `{"next", "previous", "results"}`."""
    paginator = NewestFirstCursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
