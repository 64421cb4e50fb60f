"""Upcasters: each turns one event type's payload from version N into N + 1.

Handlers are written against the newest version only; an older event is
upcast when it is read (events/inbox.py), so an event published a year ago
replays through today's handlers. One upcaster per (type, from_version), kept
here once for every consumer. See docs/adr/0013-upcast-on-read.md and
docs/lessons/versioned-schemas.md.
"""

from collections.abc import Callable, Collection

from contracts.registry import dataschema_uri, parse_dataschema

# An upcaster reads the whole envelope (an added field may come from it, such
# as the event's time) and returns the payload of the next version.
Upcaster = Callable[[dict], dict]


def _payment_approved_v1_to_v2(envelope: dict) -> dict:
    data = dict(envelope["data"])
    amount, currency = data.pop("amount"), data.pop("currency")
    creditor_name = data.pop("creditor_name")
    return {
        **data,
        "amount": {"value": amount, "currency": currency},
        # v1 never carried the creditor's IBAN; no consumer may need it of a v1.
        "creditor": {"name": creditor_name, "iban": None},
        # The approval is what the event announces: published when it committed.
        "approved_at": envelope["time"],
    }


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("PaymentApproved", 1): _payment_approved_v1_to_v2,
}


def upcast_once(envelope: dict, upcasters=None) -> dict:
    """Return the envelope one version up (a copy; the original is the fact kept)."""
    upcasters = UPCASTERS if upcasters is None else upcasters
    event_type, version = parse_dataschema(envelope["dataschema"])
    data = upcasters[(event_type, version)](envelope)
    return {
        **envelope,
        "dataschema": dataschema_uri(event_type, version + 1),
        "data": data,
    }


def upcast_path(
    event_type: str, version: int, readable: Collection[int], upcasters=None
) -> list[int] | None:
    """The versions an event goes through to reach one in `readable`, or None.

    [version] if it is readable as it is; None if no chain of upcasters leads
    from it to a readable version (an older or newer version nobody bridges).
    """
    upcasters = UPCASTERS if upcasters is None else upcasters
    path = [version]
    while path[-1] not in readable:
        if (event_type, path[-1]) not in upcasters:
            return None
        path.append(path[-1] + 1)
    return path
