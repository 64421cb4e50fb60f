"""Refuse a request body over MAX_REQUEST_BODY_BYTES before anything reads it.

DRF's parser reads the body as a stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
never sees a JSON body; and where Django does check (form posts, the CSRF
middleware), it answers a 400 page. One check, first, gives every path a 413.
"""

from django.conf import settings
from django.http import HttpResponse

from api.plain_problems import payload_too_large_view


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django then reads no body at all


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or request.content_type in (
        "application/json",
        "application/problem+json",
    )


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        if _content_length(request) <= limit:
            return self.get_response(request)
        if _wants_json(request):
            return payload_too_large_view(request, limit)
        return HttpResponse(
            f"Request body too large: send at most {limit} bytes.",
            status=413,
            content_type="text/plain; charset=utf-8",
        )
