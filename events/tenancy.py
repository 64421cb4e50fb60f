"""Which organisation an event belongs to, read once from its payload.

The outbox and the inbox keep it in an indexed column, so the tenant filters of
the event log, the consumers page and the fault lab use an index instead of
reading every row's JSON. See docs/lessons/maker-checker-and-tenancy.md.
"""

import uuid


def organisation_of(envelope) -> uuid.UUID | None:
    """Return `data.organisation_id` of an envelope, or None if it holds none.

    Never raises: a broken envelope (a poison message on its way to the
    dead-letter queue) must still get its inbox row, just without a tenant.
    """
    data = envelope.get("data") if isinstance(envelope, dict) else None
    value = data.get("organisation_id") if isinstance(data, dict) else None
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None
