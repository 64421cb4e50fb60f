"""GET /api/v1/problems/<code>: the page a problem's `type` URI points at."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.problems import DRF_PROBLEMS, TYPE_BASE
from api.schema import READ_PROBLEMS
from domain.errors import DomainError


def _domain_errors(cls=DomainError):
    for sub in cls.__subclasses__():
        yield sub
        yield from _domain_errors(sub)


def problem_types() -> dict[str, str]:
    """Return every problem type the API can answer with, code -> title."""
    types = dict(DRF_PROBLEMS.values())
    types.update({error.code: error.title for error in _domain_errors()})
    return types


class ProblemTypeSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="The URI a problem's `type` holds.")
    code = serializers.CharField()
    title = serializers.CharField()


class ProblemTypeApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: ProblemTypeSerializer, **READ_PROBLEMS},
        summary="What a problem type means",
        operation_id="problem_types_retrieve",
        tags=["problems"],
        auth=[],
    )
    def get(self, request, code):
        title = problem_types().get(code)
        if title is None:
            raise NotFound("No such problem type.")
        return Response({"type": TYPE_BASE + code, "code": code, "title": title})
