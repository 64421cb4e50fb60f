"""The demo's runtime switch of the version payments publishes of an event type.

EVENT_VERSIONS sets it at start; in demo mode this switch overrides it without
a restart, so the rollout of PaymentApproved v2 can be shown live: switch, then
approve, and watch every consumer apply the new version. Outside demo mode the
switch is not offered (lab/api) and not read (payments/events.py).
See docs/lessons/versioned-schemas.md.
"""

from domain.errors import Invalid
from payments.events import DEFAULT_VERSION, LATER_VERSIONS, STATUS_EVENTS
from payments.models import EventVersionSwitch


def publishable_versions(event_type: str) -> list[int]:
    """The versions of `event_type` payments knows how to build."""
    later = [version for name, version in LATER_VERSIONS if name == event_type]
    return sorted({DEFAULT_VERSION, *later})


def event_version_switch(*, event_type: str, version: int) -> dict:
    """Publish `event_type` in `version` from now on; raise Invalid if unknown."""
    types = sorted(set(STATUS_EVENTS.values()))
    if event_type not in types:
        raise Invalid(
            f"Payments publishes no event {event_type!r}.",
            errors={"event_type": [f"One of {', '.join(types)}."]},
        )
    versions = publishable_versions(event_type)
    if version not in versions:
        raise Invalid(
            f"Payments cannot publish {event_type} v{version}.",
            errors={"version": [f"One of {', '.join(map(str, versions))}."]},
        )
    EventVersionSwitch.objects.update_or_create(
        event_type=event_type, defaults={"version": version}
    )
    return {"event_type": event_type, "version": version, "versions": versions}
