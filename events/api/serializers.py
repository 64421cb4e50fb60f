"""Shapes of the consumers API and the relay state (explicit fields, no __all__)."""

from rest_framework import serializers

from events.models import DeliveryStatus


class DeliverySerializer(serializers.Serializer):
    """One delivery of an event to a consumer, as recorded by its inbox."""

    consumer = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    at = serializers.DateTimeField()
    error = serializers.SerializerMethodField()

    def get_error(self, delivery) -> str | None:
        return delivery.error or None


class QueueSerializer(serializers.Serializer):
    name = serializers.CharField()
    partition = serializers.IntegerField()
    backlog = serializers.IntegerField(
        allow_null=True, help_text="Messages waiting; null when the broker is away."
    )
    note = serializers.CharField(allow_null=True, help_text='e.g. "not declared".')


class DeadLetterQueueSerializer(serializers.Serializer):
    name = serializers.CharField()
    backlog = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_null=True)


class RetryQueueSerializer(DeadLetterQueueSerializer):
    """The same three fields, for the queue where retries wait."""


SCOPES = [
    ("global", "global: every organisation's (operators)"),
    ("organisation", "organisation: the caller's organisation only (members)"),
]


class ConsumerSerializer(serializers.Serializer):
    name = serializers.CharField()
    paused = serializers.BooleanField()
    running = serializers.BooleanField(
        help_text="A worker's heartbeat arrived within the last 10 seconds."
    )
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    queues = QueueSerializer(
        many=True,
        help_text="The partition queues and their depth; empty for a member (they "
        "hold every organisation's messages).",
    )
    backlog = serializers.IntegerField(
        allow_null=True,
        help_text="global: messages waiting in the partition queues. organisation: "
        "your published events the consumer has not reached yet.",
    )
    dead_letter_queue = DeadLetterQueueSerializer(
        help_text="Its depth is null for a member (it is shared)."
    )
    retry_queue = RetryQueueSerializer(
        allow_null=True,
        help_text="Where failed events wait out their retry backoff on RabbitMQ "
        "(`<consumer>.retry`); null on the embedded broker, where a retry waits "
        "in the worker, and for a member (it is shared).",
    )
    dead_lettered = serializers.IntegerField(
        help_text="Events whose last delivery was dead-lettered (inbox rows; "
        "a member's own only)."
    )
    parked = serializers.IntegerField(
        help_text="Events waiting for an earlier event of their payment (a "
        "member's own only)."
    )


class ConsumerListSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=SCOPES)
    results = ConsumerSerializer(many=True)
    broker_error = serializers.CharField(
        allow_null=True, help_text="Why the backlog is unknown, if it is."
    )


class RelayFailureSerializer(serializers.Serializer):
    row_id = serializers.IntegerField(
        help_text="The outbox row (manage.py outbox_failed)."
    )
    event_id = serializers.UUIDField()
    type = serializers.CharField()
    subject = serializers.CharField(
        help_text="What the event is about: the payment's id, or the id and an "
        "aspect another producer reports (`<id>/release`, `<id>/settlement`)."
    )
    state = serializers.ChoiceField(
        choices=["failed", "backing_off"],
        help_text="failed: waits for an operator; backing_off: sent again at "
        "next_attempt_at.",
    )
    attempts = serializers.IntegerField(help_text="Times a relay claimed it.")
    refusals = serializers.IntegerField(
        help_text="Times the broker refused it; it fails at RELAY_MAX_ATTEMPTS."
    )
    last_error = serializers.CharField()
    failed_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    holding = serializers.IntegerField(
        help_text="Later events of its partition waiting behind it."
    )


class RelayFailuresSerializer(serializers.Serializer):
    failed = serializers.IntegerField(
        help_text="Rows the relay gave up on; each holds its partition back."
    )
    oldest_failed_at = serializers.DateTimeField(allow_null=True)
    backing_off = serializers.IntegerField(
        help_text="Rows the broker refused, waiting to be sent again."
    )
    held = serializers.IntegerField(
        help_text="Rows waiting behind a failed or backing-off row."
    )
    rows = RelayFailureSerializer(
        many=True, help_text="Failed rows first (oldest first), then backing-off."
    )


class RelayStateSerializer(serializers.Serializer):
    """The relay as an operator sees it: the whole outbox and the leader."""

    scope = serializers.ChoiceField(choices=SCOPES)
    paused = serializers.BooleanField()
    running = serializers.BooleanField(help_text="A heartbeat in the last 10 s.")
    leader = serializers.CharField(help_text="host:pid of the active relay.")
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField(help_text="Outbox rows not yet published.")
    oldest_pending_at = serializers.DateTimeField(allow_null=True)
    failures = RelayFailuresSerializer(
        required=False,
        help_text="Rows the relay could not publish; members see their "
        "organisation's, operators all.",
    )


class OrganisationRelayStateSerializer(serializers.Serializer):
    """The relay as a member sees it: only their organisation's waiting events."""

    scope = serializers.ChoiceField(choices=SCOPES)
    paused = serializers.BooleanField()
    running = serializers.BooleanField(help_text="A heartbeat in the last 10 s.")
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField(
        help_text="Your organisation's outbox rows not yet published."
    )
    oldest_pending_at = serializers.DateTimeField(allow_null=True)
    failures = RelayFailuresSerializer(
        required=False,
        help_text="Rows the relay could not publish; members see their "
        "organisation's, operators all.",
    )


class AsyncApiDocumentSerializer(serializers.Serializer):
    """An AsyncAPI 3.0.0 document (https://www.asyncapi.com/docs/reference/specification/v3.0.0)."""

    asyncapi = serializers.CharField(help_text='"3.0.0"')
    info = serializers.DictField(help_text="Title, version, description, links.")
    defaultContentType = serializers.CharField()  # AsyncAPI spells it so
    servers = serializers.DictField(
        help_text="The broker, without credentials (a placeholder for the "
        "embedded one)."
    )
    channels = serializers.DictField(
        help_text="One per event type (the routing key, by partition), and each "
        "consumer's partition and dead-letter queues."
    )
    operations = serializers.DictField(
        help_text="The producer's send of each type, each consumer's receive."
    )
    components = serializers.DictField(
        help_text="`messages`: every event type and version, its payload the "
        "published JSON Schema."
    )
