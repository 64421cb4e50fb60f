"""Response shapes of the settlement files API (explicit fields, no __all__)."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from api.model_serializers import ModelSerializer
from settlement.models import LineOutcome, SettlementFile, StatementLine


@extend_schema_serializer(component_name="SettlementFileOutcomeCounts")
class OutcomeCountsSerializer(serializers.Serializer):
    """Lines per outcome; every outcome is present, 0 when no line has it."""

    matched = serializers.IntegerField()
    amount_mismatch = serializers.IntegerField()
    unknown_payment = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    not_a_payment = serializers.IntegerField()


class SettlementFileSerializer(ModelSerializer):
    original_name = serializers.SerializerMethodField()
    outcome_counts = serializers.SerializerMethodField()

    class Meta:
        model = SettlementFile
        fields = [
            "id",
            "sha256",
            "size",
            "content_type",
            "source",
            "original_name",
            "received_at",
            "status",
            "rejection_reason",
            "outcome_counts",
            "processed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_original_name(self, file: SettlementFile) -> str | None:
        return file.original_name or None

    def get_outcome_counts(self, file: SettlementFile) -> OutcomeCountsSerializer:
        counts = file.outcome_counts if isinstance(file.outcome_counts, dict) else {}
        return {outcome: int(counts.get(outcome, 0)) for outcome in LineOutcome.values}


class StatementLineSerializer(ModelSerializer):
    file = serializers.UUIDField(source="file_id", help_text="The statement it is in.")
    payment = serializers.UUIDField(source="payment_id", allow_null=True)

    class Meta:
        model = StatementLine
        fields = [
            "file",
            "index",
            "end_to_end_id",
            "amount",
            "currency",
            "direction",
            "booking_date",
            "value_date",
            "bank_reference",
            "outcome",
            "payment",
        ]
        read_only_fields = fields


class SettlementFileUploadSerializer(serializers.Serializer):
    """The multipart form: one part named `file`, itself application/xml or text/xml."""

    file = serializers.FileField()


@extend_schema_serializer(component_name="PaginatedSettlementFileList")
class SettlementFilePageSerializer(serializers.Serializer):
    """One page of a cursor-paginated list; follow `next` until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SettlementFileSerializer(many=True)


@extend_schema_serializer(component_name="PaginatedStatementLineList")
class StatementLinePageSerializer(serializers.Serializer):
    """One page of a cursor-paginated list; follow `next` until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StatementLineSerializer(many=True)
