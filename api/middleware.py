"""Refuse a request body over its limit before anything reads it.

DRF's parser reads the body as a stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
never sees a JSON body; and where Django does check (form posts, the CSRF
middleware), it answers a 400 page. One check, first, gives every path a 413.

The limit is MAX_REQUEST_BODY_BYTES, unless the view the path leads to declares
more with a `request_body_limit()` class method (a file upload); that view is
looked up only for a body over the common limit, so every other request pays
nothing for it.
"""

from django.conf import settings
from django.http import HttpResponse
from django.urls import Resolver404, resolve

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


def _view_limit(request, default: int) -> int:
    """The larger limit the path's view declares, or `default`."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return default
    declared = getattr(
        getattr(match.func, "view_class", None), "request_body_limit", None
    )
    return max(default, declared()) if callable(declared) else default


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_REQUEST_BODY_BYTES
        length = _content_length(request)
        if length <= limit:
            return self.get_response(request)
        limit = _view_limit(request, limit)
        if length <= limit:
            return self.get_response(request)
        if _wants_json(request):
            return payload_too_large_view(request, limit)
        return HttpResponse(
            f"Request body too large: send at most {limit} bytes.",
            status=413,
            content_type="text/plain; charset=utf-8",
        )
