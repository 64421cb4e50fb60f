"""Response shape of the reconciliation API, and its one query filter."""

from rest_framework import serializers

from api.model_serializers import ModelSerializer
from reconciliation.models import Expectation


class ExpectationSerializer(ModelSerializer):
    payment = serializers.UUIDField(source="payment_id", read_only=True)
    debtor_account = serializers.UUIDField(source="debtor_account_id", read_only=True)
    amount = serializers.IntegerField(read_only=True, help_text="Minor units.")

    class Meta:
        model = Expectation
        fields = [
            "id",
            "payment",
            "event_id",
            "status",
            "amount",
            "currency",
            "debtor_account",
            "creditor_name",
            "reference",
            "created_at",
            "settlement_file_id",
            "settlement_line",
            "bank_reference",
            "booking_date",
            "matched_at",
            "exception",
        ]
