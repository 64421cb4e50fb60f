"""List endpoints: newest-first cursor pages and the shared `?payment=<id>` filter."""

import datetime
import uuid

from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

INVALID_CURSOR = (
    "Not a cursor this list gave out; follow `next` or `previous` as given, "
    "or leave the cursor out for the first page."
)


def _invalid_cursor() -> serializers.ValidationError:
    return serializers.ValidationError({"cursor": [INVALID_CURSOR]})


def _position_check(value: str) -> None:
    """Refuse a cursor position that is not an aware time the database can take.

    DRF filters on the position as given, so a tampered one ("abc", month 13,
    year 0 once moved to UTC) would fail inside the query: a 500.
    """
    try:
        # isprintable: Python's ISO parser ignores a trailing NUL.
        moment = parse_datetime(value) if value.isprintable() else None
        if moment is None or moment.tzinfo is None:
            raise ValueError(value)
        moment.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise _invalid_cursor() from None


class NewestFirstCursorPagination(CursorPagination):
    """Stable pages over rows that keep arriving (offsets would skip or repeat).

    A cursor that does not decode, or whose position is no time, is a 400
    naming `cursor`, like any other malformed query parameter.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:  # DRF's answer to a cursor it cannot decode
            raise _invalid_cursor() from None
        if cursor is not None and cursor.position is not None:
            # Kept as given: DRF compares it with positions it renders itself.
            _position_check(cursor.position)
        return cursor


class AscendingIntegerCursorPagination(CursorPagination):
    """Pages in the ascending order of a unique, non-negative integer field.

    For rows with a fixed order of their own (a statement's lines by their
    position in the file); a subclass names the field in `ordering`. A cursor
    whose position is no such integer is a 400 naming `cursor`, like a
    tampered time on the newest-first lists.
    """

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering: tuple[str, ...] = ()

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        position = None if cursor is None else cursor.position
        # At most 18 digits: any of them fits a 64-bit integer column.
        if position is not None and not (
            position.isascii() and position.isdigit() and len(position) <= 18
        ):
            raise _invalid_cursor()
        return cursor


class PaymentFilterSerializer(serializers.Serializer):
    payment = serializers.UUIDField(
        required=False, help_text="Only what concerns this payment."
    )


def payment_filter(request) -> uuid.UUID | None:
    """Return the validated `?payment=` id, or None; a malformed one is a 400."""
    query = PaymentFilterSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("payment")


def page_response(
    view,
    request,
    queryset,
    serializer_class,
    pagination: type[CursorPagination] = NewestFirstCursorPagination,
) -> Response:
    """Render one cursor page of the queryset: `{"next", "previous", "results"}`."""
    paginator = pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
