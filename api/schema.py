"""OpenAPI pieces shared by every endpoint: the problem body and common headers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details (media type application/problem+json)."""

    type = serializers.CharField(help_text="Stable URI of the problem type.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="The problem type's short name.")
    errors = serializers.DictField(
        required=False, help_text="Per-field messages, for validation problems."
    )


def problem_doc(description: str) -> OpenApiResponse:
    """Document a problem answer of one status, saying when it happens."""
    return OpenApiResponse(response=ProblemSerializer, description=description)


PROBLEM_RESPONSES = {
    400: problem_doc(
        "Bad input (malformed or too deeply nested JSON, invalid fields or query "
        "parameters, a tampered cursor); nothing changed."
    ),
    429: problem_doc("Too many requests."),
}
READ_PROBLEMS = {
    401: problem_doc("Not authenticated."),
    403: problem_doc("Not allowed (no organisation or role)."),
    404: problem_doc("Not found, including another organisation's objects."),
}
WRITE_PROBLEMS = {
    **PROBLEM_RESPONSES,
    **READ_PROBLEMS,
    403: problem_doc("Not allowed: missing role, or maker-checker."),
    409: problem_doc(
        "Wrong state, concurrent change, or the same Idempotency-Key still running."
    ),
    413: problem_doc("The body is over MAX_REQUEST_BODY_BYTES (default 64 KiB)."),
    415: problem_doc("The body must be application/json."),
    422: problem_doc("Idempotency-Key reused with a different request."),
}

IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters (a UUID v4 is ideal), scoped to your user. A retry "
        "with the same key and body replays the first 2xx answer with "
        "`Idempotent-Replayed: true` and no second effect. Kept at least 24 hours."
    ),
)


def results_of(serializer_class, name: str):
    """Document a `{"results": [...]}` body of the given item serializer."""
    return inline_serializer(name=name, fields={"results": serializer_class(many=True)})


def problem_media_type_hook(result, generator, request, public):
    """Declare error bodies as application/problem+json, which is what they are."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for status_code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status_code[0] in "45" and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return result


PROBLEM_MEDIA_TYPE = "application/problem+json"
