"""Demo mode: make a consumer an older release that does not know a newer version.

The third rollout card of the lab: a consumer deployed before v2 existed must
refuse a v2 event visibly (dead-lettered as `unsupported-version`, nothing
marked applied), then, once upgraded, apply it on redrive. The worker reads
the switch within about a second (events/worker.py, PauseSwitch). See
events/consumer_release.py and docs/lessons/versioned-schemas.md#the-demo.
"""

from domain.errors import Invalid
from events.consumers import consumer_get
from events.models import ConsumerState
from lab.faults import consumer_check


def _declared_versions(name: str, event_type: str) -> list[int]:
    consumer = consumer_get(name)
    versions = sorted(v for t, v in consumer.consumes if t == event_type)
    if not versions:
        types = ", ".join(sorted(consumer.consumed_types))
        raise Invalid(
            f"{name} does not consume {event_type}.",
            errors={"event_type": [f"One of {types}."]},
        )
    return versions


def consumer_reads_set(*, name: str, event_type: str, version: int | None) -> dict:
    """Run `name` as a release reading `event_type` up to `version`.

    None upgrades it back to every version it declares.

    Raises ConsumerNotFound for an unknown consumer and Invalid for a type it
    does not consume or a version that is not older than what it reads.
    """
    consumer_check(name)
    declared = _declared_versions(name, event_type)
    if version is not None and not 1 <= version < max(declared):
        raise Invalid(
            f"{name} reads {event_type} up to v{max(declared)}; an older release "
            f"reads less.",
            errors={"version": [f"From 1 to {max(declared) - 1}, or null."]},
        )
    state, _ = ConsumerState.objects.get_or_create(consumer=name)
    reads_up_to = dict(state.reads_up_to)
    if version is None:
        reads_up_to.pop(event_type, None)
        detail = (
            f"{name} is upgraded: it reads every version of {event_type} again "
            f"(up to v{max(declared)}); redrive its dead letters to apply them."
        )
    else:
        reads_up_to[event_type] = version
        detail = (
            f"{name} now runs as an older release that knows {event_type} up to "
            f"v{version}: a newer one is dead-lettered as unsupported-version, "
            "never marked applied. Its worker notices within a second."
        )
    ConsumerState.objects.filter(pk=state.pk).update(reads_up_to=reads_up_to)
    return {
        "consumer": name,
        "event_type": event_type,
        "reads_up_to": version if version is not None else max(declared),
        "older_release": version is not None,
        "detail": detail,
    }
