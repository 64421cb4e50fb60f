"""Response shape of the notifications API, and its one query filter."""

from rest_framework import serializers

from api.model_serializers import ModelSerializer
from notifications.models import Notification


class NotificationSerializer(ModelSerializer):
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
            "email_status",
            "email_attempts",
            "email_error",
            "email_sent_at",
        ]
