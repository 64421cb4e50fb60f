"""Shapes of the fault controls' requests and answers (explicit fields, no __all__)."""

from django.conf import settings
from rest_framework import serializers


class ConsumerField(serializers.CharField):
    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        # Read at request time: the consumers are a setting, not a code constant.
        if name not in settings.EVENT_CONSUMERS:
            raise serializers.ValidationError(
                f"Unknown consumer; one of {', '.join(settings.EVENT_CONSUMERS)}."
            )
        return name


class DeliverReversedSerializer(serializers.Serializer):
    consumer = ConsumerField(
        required=False, help_text="One consumer; default: every consumer."
    )


class RedriveSerializer(serializers.Serializer):
    event_id = serializers.UUIDField(
        required=False, help_text="Redrive only this event; default: all of yours."
    )


class RedeliveredSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.CharField()
    sequence = serializers.IntegerField()
    exchange = serializers.CharField()
    routing_key = serializers.CharField()
    consumers = serializers.ListField(child=serializers.CharField())
    detail = serializers.CharField()


class ConsumerPausedSerializer(serializers.Serializer):
    consumer = serializers.CharField()
    paused = serializers.BooleanField()
    detail = serializers.CharField()


class ReversedEventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    sequence = serializers.IntegerField()


class ReversedConsumerSerializer(serializers.Serializer):
    name = serializers.CharField()
    queue = serializers.CharField()
    in_order_copies_taken_out = serializers.IntegerField()
    other_messages_kept = serializers.IntegerField()


class DeliveredReversedSerializer(serializers.Serializer):
    payment_id = serializers.UUIDField()
    events = ReversedEventSerializer(many=True, help_text="In delivery order.")
    consumers = ReversedConsumerSerializer(many=True)
    detail = serializers.CharField()


class RedrivenSerializer(serializers.Serializer):
    consumer = serializers.CharField()
    dead_letter_queue = serializers.CharField()
    moved = serializers.IntegerField()
    event_ids = serializers.ListField(child=serializers.CharField(allow_null=True))
    left = serializers.IntegerField(help_text="Messages still in the dead queue.")
    detail = serializers.CharField()


class EventVersionSwitchSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, help_text="The version payments publishes from now on."
    )


class EventVersionSwitchedSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    version = serializers.IntegerField()
    versions = serializers.ListField(
        child=serializers.IntegerField(), help_text="Those payments can publish."
    )


class ConsumerReadsSerializer(serializers.Serializer):
    event_type = serializers.CharField(help_text="A type the consumer consumes.")
    version = serializers.IntegerField(
        min_value=1,
        allow_null=True,
        help_text="The newest version the older release knows; null to upgrade "
        "it back to every version it declares.",
    )


class ConsumerReadsSetSerializer(serializers.Serializer):
    consumer = serializers.CharField()
    event_type = serializers.CharField()
    reads_up_to = serializers.IntegerField()
    older_release = serializers.BooleanField()
    detail = serializers.CharField()
