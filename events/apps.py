from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Messaging kit (outbox, relay, inbox)"

    def ready(self) -> None:
        from events.consumers import default_consumer_names, registry
        from events.filesystem_transport import register

        # The embedded broker, without kombu's write-then-read race.
        register()

        # EVENT_CONSUMERS unset: every consumer an installed app declares
        # (events/consumers.py). Filled in once every app is loaded, so each
        # process that reads the setting reads the same list.
        if settings.EVENT_CONSUMERS is None:
            settings.EVENT_CONSUMERS = default_consumer_names()
        checks.register(undeclared_consumers_check)
        registry()  # a broken declaration fails at start, not at first use


def undeclared_consumers_check(app_configs=None, **kwargs) -> list:
    """Warn about EVENT_CONSUMERS names no app declares: queues nobody consumes."""
    from events.consumers import default_consumer_names

    declared = set(default_consumer_names())
    return [
        checks.Warning(
            f"EVENT_CONSUMERS names {name!r}, which no installed app declares in "
            "its consumer.py; its queues would fill with nobody to consume them.",
            hint=f"Declared consumers: {', '.join(sorted(declared))}.",
            id="events.W001",
        )
        for name in settings.EVENT_CONSUMERS
        if name not in declared
    ]
