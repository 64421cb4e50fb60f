"""Demo mode: run a consumer as an older release that knows fewer versions.

The lab's lesson "a consumer that does not know a newer version yet" needs a
consumer deployed before v2 existed. Rather than ship an old copy of each
handler, an older release is simulated: for each capped type the consumer
reads versions up to the cap (handled as today, through the upcasters) and no
newer one, so a newer event is refused as `unsupported-version` exactly as an
old deployment would refuse it. The cap lives in ConsumerState.reads_up_to,
is set from the lab (lab/consumer_releases.py) and read by the worker only in
demo mode.
See docs/lessons/versioned-schemas.md#the-demo.
"""

from collections.abc import Callable, Mapping

from contracts.upcasters import upcast_once, upcast_path
from events.envelope import Event
from events.inbox import Handlers


def _reading_older(handler: Callable[[Event], None], version: int):
    """Wrap a handler of `version` so it takes an event of an older version."""

    def handle(event: Event) -> None:
        envelope = event.envelope
        while event.version < version:
            envelope = upcast_once(envelope)
            event = Event.from_envelope(envelope)
        handler(event)

    return handle


def handlers_of_release(handlers: Handlers, reads_up_to: Mapping[str, int]) -> Handlers:
    """Return the handler table of a release that reads each capped type up to its cap.

    A handler registered for a version above the cap is registered at the cap
    instead, reading the older event through the upcasters; with no cap (or a
    cap at or above every handler) the table is returned unchanged.
    """
    release: dict = {}
    for (event_type, version), handler in handlers.items():
        cap = reads_up_to.get(event_type)
        if cap is None or version <= cap:
            release[(event_type, version)] = handler
            continue
        if upcast_path(event_type, cap, {version}) is None:
            raise ValueError(f"no upcaster path from {event_type} v{cap} to v{version}")
        release.setdefault((event_type, cap), _reading_older(handler, version))
    return release
