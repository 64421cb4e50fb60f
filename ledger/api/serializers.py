"""Response shapes of the ledger API, and its one query filter."""

from rest_framework import serializers

from api.model_serializers import ModelSerializer
from ledger.models import Account, Direction, JournalEntry, JournalLine


class LedgerAccountSerializer(ModelSerializer):
    debtor_account = serializers.UUIDField(
        source="debtor_account_id", allow_null=True, read_only=True
    )
    debits = serializers.IntegerField(read_only=True, help_text="Minor units.")
    credits = serializers.IntegerField(read_only=True, help_text="Minor units.")
    balance = serializers.IntegerField(
        read_only=True,
        help_text="Debits minus credits, in minor units of the account's currency: "
        "posted plus pending.",
    )
    posted = serializers.IntegerField(
        read_only=True, help_text="The balance of posted (settled) entries."
    )
    pending = serializers.IntegerField(
        read_only=True,
        help_text="The balance of approved, unsettled entries.",
    )
    available = serializers.IntegerField(
        read_only=True,
        help_text="Posted, minus pending outflows; pending inflows do not count "
        "until they post.",
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "kind",
            "currency",
            "debtor_account",
            "debits",
            "credits",
            "balance",
            "posted",
            "pending",
            "available",
        ]


class LineAccountSerializer(ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name"]


class JournalLineSerializer(ModelSerializer):
    account = LineAccountSerializer(read_only=True)
    direction = serializers.ChoiceField(choices=Direction.choices, read_only=True)
    amount = serializers.IntegerField(read_only=True, help_text="Minor units.")

    class Meta:
        model = JournalLine
        fields = ["account", "direction", "amount", "currency"]


class JournalEntrySerializer(ModelSerializer):
    payment = serializers.UUIDField(source="payment_id", read_only=True)
    lines = JournalLineSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "payment",
            "event_id",
            "description",
            "created_at",
            "status",
            "posted_at",
            "booking_date",
            "booked_amount",
            "lines",
        ]
