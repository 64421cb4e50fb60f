"""Request and response shapes of the payments API (explicit fields, no __all__)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from api.model_serializers import ModelSerializer
from contracts.currencies import MINOR_UNITS
from events.api.serializers import DeliverySerializer
from observability.tracing import trace_id_of
from payments.free_text import free_text_error
from payments.iban import iban_error, iban_normalise
from payments.models import DebtorAccount, Payment, PaymentStatus


@extend_schema_field(OpenApiTypes.INT64)
class MinorUnitsField(serializers.Field):
    """A JSON integer only: "100", 100.0 and true are refused, never coerced."""

    default_error_messages = {
        "invalid": "Must be a JSON integer in minor units, e.g. 12550 for 125.50."
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


def printable_text(value: str) -> None:
    """Refuse control and invisible characters (payments/free_text.py's rule)."""
    if error := free_text_error(value):
        raise serializers.ValidationError(error)


class CreditorSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=140, validators=[printable_text])
    iban = serializers.CharField(max_length=42)

    def validate_iban(self, value: str) -> str:
        iban = iban_normalise(value)
        if error := iban_error(iban):
            raise serializers.ValidationError(error)
        return iban


class PaymentSubmitSerializer(serializers.Serializer):
    debtor_account = serializers.UUIDField()
    amount = MinorUnitsField(help_text="Integer, in minor units of the currency.")
    currency = serializers.CharField(min_length=3, max_length=3)
    creditor = CreditorSerializer()
    reference = serializers.CharField(
        max_length=140,
        required=False,
        allow_blank=True,
        default="",
        validators=[printable_text],
    )

    def validate_currency(self, value: str) -> str:
        if value not in MINOR_UNITS:
            raise serializers.ValidationError(f"{value!r} is not an ISO 4217 code.")
        return value


class PaymentRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, validators=[printable_text])


class PaymentStatusFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PaymentStatus.values, required=False)


class DigitsIntegerField(serializers.IntegerField):
    """A whole number written in digits: IntegerField alone takes "2.0" as 2 and,
    through int(), "1_0" as 10."""

    def to_internal_value(self, data):
        if not (
            isinstance(data, str) and data.strip().isascii() and data.strip().isdigit()
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class EventVersionFilterSerializer(serializers.Serializer):
    version = DigitsIntegerField(
        required=False,
        min_value=1,
        max_value=32767,  # the column is a small integer
        help_text="Only events of this schema version (as `dataschema` says).",
    )


class DebtorAccountSerializer(ModelSerializer):
    class Meta:
        model = DebtorAccount
        fields = ["id", "name", "iban", "currency"]


class PaymentSerializer(ModelSerializer):
    debtor_account = serializers.UUIDField(source="debtor_account_id")
    creditor = serializers.SerializerMethodField()
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    rejected_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    amount = MinorUnitsField()
    end_to_end_id = serializers.CharField(
        read_only=True,
        help_text="The EndToEndId the bank sees in the pain.001 and returns in "
        "its statement: the id as 32 lowercase hex characters.",
    )

    class Meta:
        model = Payment
        fields = [
            "id",
            "end_to_end_id",
            "status",
            "amount",
            "currency",
            "debtor_account",
            "creditor",
            "reference",
            "submitted_by",
            "approved_by",
            "rejected_by",
            "rejection_reason",
            "created_at",
            "updated_at",
            "released_at",
            "settled_at",
            "version",
        ]
        read_only_fields = fields

    def get_creditor(self, payment: Payment) -> CreditorSerializer:
        return {"name": payment.creditor_name, "iban": payment.creditor_iban}


class PaymentEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="event_id")
    type = serializers.CharField(source="event_type")
    version = serializers.IntegerField(source="schema_version")
    sequence = serializers.IntegerField()
    partition_key = serializers.CharField()
    time = serializers.CharField(source="envelope.time")
    data = serializers.DictField(source="envelope.data")
    state = serializers.SerializerMethodField()
    published_at = serializers.DateTimeField(allow_null=True)
    correlation_id = serializers.CharField(
        source="envelope.correlationid",
        allow_null=True,
        default=None,
        help_text="The request (X-Request-ID) or the event whose story this is.",
    )
    causation_id = serializers.CharField(
        source="envelope.causationid",
        allow_null=True,
        default=None,
        help_text="The request or the event that caused this one.",
    )
    trace_id = serializers.SerializerMethodField(
        help_text="The trace its producer ran in, from the envelope's "
        "`traceparent`; null when tracing was off."
    )
    deliveries = DeliverySerializer(
        many=True, read_only=True, help_text="Each consumer's deliveries, oldest first."
    )

    def get_state(self, message) -> str:
        return "published" if message.published_at else "pending"

    def get_trace_id(self, message) -> str | None:
        return trace_id_of(message.envelope.get("traceparent"))


class DebtorAccountListSerializer(serializers.Serializer):
    results = DebtorAccountSerializer(many=True)


# Named like the other cursor pages, which drf-spectacular names Paginated*List.
@extend_schema_serializer(component_name="PaginatedPaymentList")
class PaymentPageSerializer(serializers.Serializer):
    """One page of a cursor-paginated list; follow `next` until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PaymentSerializer(many=True)


class PaymentEventListSerializer(serializers.Serializer):
    results = PaymentEventSerializer(many=True)
