"""Response shape of the notifications API, and its one query filter."""

from rest_framework import serializers

from notifications.models import Notification


class PaymentFilterSerializer(serializers.Serializer):
    payment = serializers.UUIDField(
        required=False, help_text="Only notifications about this payment."
    )


class NotificationSerializer(serializers.ModelSerializer):
    payment = serializers.UUIDField(source="payment_id", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "payment",
            "event_id",
            "event_type",
            "subject",
            "body",
            "created_at",
            "email_sent_at",
        ]
