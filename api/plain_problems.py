"""Problem details answered outside DRF: an unknown URL, a crash, a body too large.

Free of DRF imports, so the body-size middleware can use it before DRF's
settings (which name api.problems' renderer) are loaded.
"""

from django.http import JsonResponse

from api.errors import PayloadTooLarge

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"


def plain_problem(status_code: int, code: str, title: str, detail: str):
    return JsonResponse(
        {
            "type": TYPE_BASE + code,
            "title": title,
            "status": status_code,
            "detail": detail,
            "code": code,
        },
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def payload_too_large_view(request, limit: int):
    return plain_problem(
        413,
        PayloadTooLarge.code,
        PayloadTooLarge.title,
        f"Send at most {limit} bytes; this body has {request.META['CONTENT_LENGTH']}.",
    )
