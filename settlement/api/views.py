"""HTTP for settlement files: receive one, list them, read one and its lines.

Thin views: parse, call one service or selector, render. Receiving is
settlement/receiving.py's; see docs/lessons/transfer-vs-processing.md.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.lists import (
    AscendingIntegerCursorPagination,
    NewestFirstCursorPagination,
    PaymentFilterSerializer,
    page_response,
    payment_filter,
)
from api.schema import (
    IDEMPOTENCY_KEY,
    PROBLEM_RESPONSES,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    problem_doc,
)
from organisations.selectors import organisation_id_for
from settlement import receiving, selectors
from settlement.api.parsers import RawBodyParser
from settlement.api.serializers import (
    SettlementFilePageSerializer,
    SettlementFileSerializer,
    SettlementFileUploadSerializer,
    StatementLinePageSerializer,
    StatementLineSerializer,
)
from settlement.models import SettlementFileSource
from settlement.reprocessing import settlement_file_reprocess

MULTIPART = "multipart/form-data"
PAGE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 200."),
]
RECEIVE_PROBLEMS = {
    **WRITE_PROBLEMS,
    400: problem_doc(
        "An empty file (`empty-file`), or a form without its `file` part; "
        "nothing stored."
    ),
    403: problem_doc("Not an approver of an organisation (`role-required`)."),
    413: problem_doc(
        "The file is over SETTLEMENT_FILE_MAX_BYTES (default 64 MiB): "
        "`settlement-file-too-large`, or `payload-too-large` when the body "
        "is so large it is refused before it is read."
    ),
    415: problem_doc(
        "The body (or the form's `file` part) is not application/xml or "
        "text/xml (`unsupported-file-type`)."
    ),
}


class ReceivedFirstPagination(NewestFirstCursorPagination):
    ordering = ("-received_at", "-id")


class InFileOrderPagination(AscendingIntegerCursorPagination):
    ordering = ("index",)


class InProcessingOrderPagination(AscendingIntegerCursorPagination):
    ordering = ("id",)


def _upload(request) -> dict:
    """The file's bytes, media type and name, from a raw body or a form's `file`."""
    if receiving.content_type_normalise(request.content_type) == MULTIPART:
        part = request.FILES.get("file")
        if part is None:
            raise serializers.ValidationError(
                {"file": ["Send the statement as a file in the form part `file`."]}
            )
        return {
            "data": part.read(),
            "content_type": part.content_type or "",
            "original_name": part.name or "",
        }
    body = request.data  # bytes from RawBodyParser; {} when there is no body
    return {
        "data": body if isinstance(body, bytes) else b"",
        "content_type": request.content_type,
        "original_name": "",
    }


class SettlementFileListReceiveApi(APIView):
    parser_classes = [MultiPartParser, RawBodyParser]

    @classmethod
    def request_body_limit(cls) -> int:
        """Read by api/middleware.py: a file, plus room for a form's framing."""
        return settings.SETTLEMENT_FILE_MAX_BYTES + settings.MAX_REQUEST_BODY_BYTES

    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={
            200: SettlementFilePageSerializer,
            **PROBLEM_RESPONSES,
            **READ_PROBLEMS,
        },
        summary="List settlement files (cursor pagination, newest first)",
        operation_id="settlement_files_list",
        tags=["settlement-files"],
    )
    def get(self, request):
        files = selectors.settlement_file_list(
            organisation_id=organisation_id_for(user=request.user)
        )
        return page_response(
            self, request, files, SettlementFileSerializer, ReceivedFirstPagination
        )

    @extend_schema(
        request={
            "application/xml": OpenApiTypes.BINARY,
            MULTIPART: SettlementFileUploadSerializer,
        },
        responses={
            201: SettlementFileSerializer,
            200: OpenApiResponse(
                SettlementFileSerializer,
                description="The same bytes were received before: that file, "
                "unchanged; nothing new stored or published.",
            ),
            **RECEIVE_PROBLEMS,
        },
        summary="Receive a bank statement (approver); emits SettlementFileReceived",
        description=(
            "The raw statement as the body (`Content-Type: application/xml` or "
            "`text/xml`), or a multipart form whose part `file` is one. Stored "
            "unparsed under its SHA-256; the same bytes again answer 200 with "
            "the first file, so the content is the idempotency key (an "
            "`Idempotency-Key` header is not needed, and ignored)."
        ),
        operation_id="settlement_files_receive",
        tags=["settlement-files"],
    )
    def post(self, request):
        # Refused before the body is read: a maker's 60 MB upload costs nothing.
        organisation_id = receiving.settlement_file_receiver_check(actor=request.user)
        received, created = receiving.settlement_file_receive(
            organisation_id=organisation_id,
            source=SettlementFileSource.UPLOAD,
            received_by=request.user,
            **_upload(request),
        )
        return Response(
            SettlementFileSerializer(received).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SettlementFileDetailApi(APIView):
    @extend_schema(
        responses={200: SettlementFileSerializer, **READ_PROBLEMS},
        summary="One settlement file: what arrived, and what processing made of it",
        operation_id="settlement_files_retrieve",
        tags=["settlement-files"],
    )
    def get(self, request, file_id):
        file = selectors.settlement_file_get(
            organisation_id=organisation_id_for(user=request.user), file_id=file_id
        )
        return Response(SettlementFileSerializer(file).data)


class StatementLineListApi(APIView):
    @extend_schema(
        parameters=PAGE_PARAMETERS,
        responses={
            200: StatementLinePageSerializer,
            **PROBLEM_RESPONSES,
            **READ_PROBLEMS,
        },
        summary="The lines processing found in a file, in file order (cursor list)",
        operation_id="settlement_file_lines_list",
        tags=["settlement-files"],
    )
    def get(self, request, file_id):
        lines = selectors.statement_line_list(
            organisation_id=organisation_id_for(user=request.user), file_id=file_id
        )
        return page_response(
            self, request, lines, StatementLineSerializer, InFileOrderPagination
        )


class StatementLineSearchApi(APIView):
    @extend_schema(
        parameters=[PaymentFilterSerializer, *PAGE_PARAMETERS],
        responses={
            200: StatementLinePageSerializer,
            **PROBLEM_RESPONSES,
            **READ_PROBLEMS,
        },
        summary="Statement lines across your files, or one payment's (cursor list)",
        description=(
            "With `?payment=`, the lines that settled the payment or carry its "
            "EndToEndId: a line of a statement that landed before the payment's "
            "approval reached settlement shows here as `unknown_payment` until "
            "the approval arrives and matches it."
        ),
        operation_id="settlement_lines_list",
        tags=["settlement-files"],
    )
    def get(self, request):
        lines = selectors.statement_line_search(
            organisation_id=organisation_id_for(user=request.user),
            payment_id=payment_filter(request),
        )
        return page_response(
            self, request, lines, StatementLineSerializer, InProcessingOrderPagination
        )


class SettlementFileReprocessApi(APIView):
    @extend_schema(
        request=None,
        responses={
            202: SettlementFileSerializer,
            **WRITE_PROBLEMS,
            403: problem_doc("Not an approver of an organisation (`role-required`)."),
            404: problem_doc("No such file of yours (`settlement-file-not-found`)."),
        },
        summary="Process a received file again from its stored bytes (approver)",
        description=(
            "Emits SettlementFileReprocessRequested; the settlement consumer "
            "processes the stored bytes again. Nothing changes twice: matched "
            "lines stay matched, one PaymentSettled per payment, ever. The "
            "answer is the file as it is now; its status and counts change "
            "when processing has run."
        ),
        parameters=[IDEMPOTENCY_KEY],
        operation_id="settlement_files_reprocess",
        tags=["settlement-files"],
    )
    @idempotent
    def post(self, request, file_id):
        organisation_id = receiving.settlement_file_receiver_check(actor=request.user)
        file = settlement_file_reprocess(
            organisation_id=organisation_id,
            file_id=file_id,
            requested_by=request.user.get_username(),
        )
        return Response(
            SettlementFileSerializer(file).data, status=status.HTTP_202_ACCEPTED
        )
