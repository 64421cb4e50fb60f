"""publish(): write an event to the outbox inside the caller's transaction.

The state change and its event commit together or not at all, so neither a
"zombie record" (state saved, event lost) nor a "ghost message" (event sent,
state rolled back) can happen. See docs/lessons/transactional-outbox.md.
"""

from django.db import connection

from contracts.registry import ContractViolation, validate
from contracts.streams import SubjectOutsideStream, subject_check
from events.envelope import envelope_build
from events.models import OutboxMessage
from events.tenancy import organisation_of
from events.traces import envelope_trace_add
from observability.cause import cause_current

# The trigger of events/migrations/0010 notifies on this channel.
NOTIFY_CHANNEL = "outbox"


class OutsideTransaction(RuntimeError):
    """publish() was called in autocommit mode, where the row would commit alone."""


def publish(**event) -> OutboxMessage:
    """Validate the event against its contract and add it to the outbox.

    Must run inside `transaction.atomic()`: the row belongs to the caller's
    transaction. Raises OutsideTransaction otherwise, and ContractViolation when
    the payload breaks its schema or the subject is not one of its type's
    stream (so a bad event is never written). `event` is outbox_message()'s.
    """
    _in_transaction_check()
    message = outbox_message(**event)
    # On PostgreSQL the insert wakes the relay: a trigger NOTIFYs, delivered only
    # if and when this transaction commits (events/migrations/0010); a wake-up
    # call, never needed for correctness (the relay polls as well).
    message.save(force_insert=True)
    return message


def publish_all(messages: list[OutboxMessage]) -> None:
    """Add outbox_message()s to the outbox in one statement, in their order.

    For a handler that makes many events at once (a statement's matched
    lines): one insert instead of one each. publish()'s rules otherwise.
    """
    _in_transaction_check()
    if messages:
        OutboxMessage.objects.bulk_create(messages)


def _in_transaction_check() -> None:
    if not connection.in_atomic_block:
        raise OutsideTransaction("publish() must run inside transaction.atomic()")


def outbox_message(
    *,
    event_type: str,
    version: int,
    source: str,
    subject: str,
    partition_key: str,
    sequence: int,
    data: dict,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> OutboxMessage:
    """The event's outbox row, validated and not yet written (see publish()).

    Raises ContractViolation when the payload breaks its schema or the subject
    is not one of its type's stream, so a bad event is never written.
    """
    try:
        # Consumers receive whole streams (events/topology.py): an event outside
        # its stream's subjects would reach a consumer as a gap it never fills.
        subject_check(event_type, subject)
    except SubjectOutsideStream as exc:
        raise ContractViolation([str(exc)]) from None
    if correlation_id is None and causation_id is None:
        # The request, the event being applied or the job run that causes this
        # one (observability/cause.py): producers need not pass it along.
        cause = cause_current()
        if cause is not None:
            correlation_id, causation_id = cause.correlation_id, cause.causation_id
    envelope = envelope_build(
        event_type=event_type,
        version=version,
        source=source,
        subject=subject,
        partition_key=partition_key,
        sequence=sequence,
        data=data,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    envelope_trace_add(envelope)
    validate(envelope)
    return OutboxMessage(
        event_id=envelope["id"],
        event_type=event_type,
        schema_version=version,
        source=source,
        subject=subject,
        partition_key=partition_key,
        sequence=sequence,
        envelope=envelope,
        organisation_id=organisation_of(envelope),
    )
