"""The idempotent consumer: apply each event once per consumer, in per-aggregate order.

Delivery is at least once, so duplicates arrive; a broker only orders within a
partition and retries reorder, so events can arrive early. The inbox row, the
position and the handler's effect commit in one transaction:
- already applied, or at/below the position: skip it as a duplicate;
- the next sequence: apply it, then any parked successors;
- ahead of a gap: park it until the gap fills.
See docs/lessons/idempotent-consumers.md.
"""

import logging
import time
import uuid
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, models, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from contracts.registry import validate
from contracts.upcasters import upcast_once, upcast_path
from events.envelope import Event
from events.inbox_flush import inbox_applied_upsert, rows_write
from events.metrics import consume_observed
from events.models import ConsumerPosition, Delivery, DeliveryStatus, InboxEntry
from events.tenancy import organisation_of
from observability.cause import Cause, caused_by

logger = logging.getLogger("events.inbox")

Handlers = Mapping[tuple[str, int], Callable[[Event], None]]


class UnsupportedVersion(LookupError):
    """A version of a type the consumer acts on that it cannot read.

    Never applied (marking it applied would lose its effect with every status
    green): the worker dead-letters it at once, visibly, to be redriven once
    the consumer has learned the version. See docs/lessons/versioned-schemas.md.
    """

    def __init__(self, consumer: str, event: Event, readable: list[int]):
        super().__init__(
            f"unsupported-version: {consumer} cannot read {event.type} "
            f"v{event.version} (it reads "
            f"{', '.join(f'v{v}' for v in readable) or 'no version'})"
        )


def consumed_types(handlers: Handlers) -> frozenset[str]:
    """The types a handler table acts on: the default of what a consumer consumes."""
    return frozenset(event_type for event_type, _ in handlers)


def _position_lock(consumer: str, subject: str) -> ConsumerPosition:
    """Lock (creating if needed) the consumer's position for one aggregate.

    Must run inside transaction.atomic(); the lock serialises two deliveries of
    one aggregate's events that reach two workers (e.g. a replay and a live event).
    One upsert both creates the row and takes its lock, in a single round trip:
    this runs for every delivery, so it is the consumer's hottest statement.
    """
    writes = _writes.get()
    if writes is not None and (consumer, subject) in writes.positions:
        return writes.positions[consumer, subject]  # locked by this transaction
    [position] = _positions_upsert(consumer, [subject])
    if writes is not None:
        writes.positions[consumer, subject] = position
    return position


def positions_lock(consumer: str, subjects) -> None:
    """Lock the positions of a burst's subjects at once, before its events run.

    One statement for the burst instead of one per event. Only inside
    writes_deferred, which keeps them for the events' own _position_lock.
    Subjects in sorted order: two bursts that share subjects lock them in the
    same order, so they wait for each other rather than deadlock.
    """
    writes = _writes.get()
    wanted = sorted(
        {
            s
            for s in subjects
            if isinstance(s, str) and (consumer, s) not in writes.positions
        }
    )
    if len(wanted) > 1:  # one is no cheaper here than in its event's turn
        for position in _positions_upsert(consumer, wanted):
            writes.positions[consumer, position.subject] = position


def _positions_upsert(consumer: str, subjects: list[str]) -> list[ConsumerPosition]:
    """Create each missing position and lock them all; return them as locked."""
    table = connection.ops.quote_name(ConsumerPosition._meta.db_table)
    rows = ", ".join(["(%s, %s, 0, %s)"] * len(subjects))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (consumer, subject, last_sequence, parked) "  # noqa: S608
            f"VALUES {rows} ON CONFLICT (consumer, subject) "
            f"DO UPDATE SET last_sequence = {table}.last_sequence "
            "RETURNING id, subject, last_sequence, parked",
            [value for subject in subjects for value in (consumer, subject, False)],
        )
        locked = cursor.fetchall()
    # Each row as it is once locked, a concurrent writer's commit included: a
    # delivery that waited for the lock sees what the other one parked.
    return [
        ConsumerPosition(
            id=position_id,
            consumer=consumer,
            subject=subject,
            last_sequence=last_sequence,
            parked=bool(parked),
        )
        for position_id, subject, last_sequence, parked in locked
    ]


def _position_save(position: ConsumerPosition, fields: list[str]) -> None:
    writes = _writes.get()
    if writes is None:
        position.save(update_fields=fields)
    else:
        writes.dirty[position.id] = position


@dataclass
class _Writes:
    """A burst's fast pass: positions it holds, and rows it writes before commit."""

    positions: dict[tuple[str, str], ConsumerPosition] = field(default_factory=dict)
    dirty: dict[int, ConsumerPosition] = field(default_factory=dict)
    applied: list[InboxEntry] = field(default_factory=list)
    # The handlers' new rows by model, in the order each model first came.
    inserts: dict[type[models.Model], list[models.Model]] = field(default_factory=dict)
    # Work the handlers asked for once per burst, by key (once_at_burst_end).
    at_end: dict[Hashable, Callable[[], None]] = field(default_factory=dict)


_writes: ContextVar[_Writes | None] = ContextVar("writes", default=None)


@contextmanager
def writes_deferred():
    """Write the block's applied inbox rows, positions and delivery records at
    its end (one statement on PostgreSQL: events/inbox_flush.py), and lock each
    position once.

    Only for a block that is rolled back whole when any event in it fails (a
    burst's fast pass: no savepoint around an event): a position or row kept
    here would outlive the savepoint of an event rolled back on its own. Must
    run inside the transaction that applies the events.
    """
    writes = _Writes()
    token = _writes.set(writes)
    try:
        with _deliveries_kept() as records:
            yield
            for work in writes.at_end.values():
                work()
            rows_write(
                applied=writes.applied,
                positions=list(writes.dirty.values()),
                deliveries=records,
                inserts=writes.inserts,
            )
    finally:
        _writes.reset(token)


def rows_insert(rows: Sequence[models.Model]) -> None:
    """Insert a handler's new rows of one model: in a burst's fast pass, with
    the burst's own rows at its end (one statement on PostgreSQL); otherwise at
    once.

    Only for rows nothing later in the transaction reads or changes: in a burst
    they exist only once it ends. A handler that reads back what it wrote (as
    settlement matches its new expectation against lines already waiting)
    saves as usual; one that reads rows other handlers may have deferred
    calls inserts_flush first. A row that breaks a constraint fails the
    burst's last statement; the burst then runs again event by event, each in
    its savepoint, where this inserts at once (events/bursts.py). See
    docs/adr/0025-handler-rows-join-the-burst.md.
    """
    if not rows:
        return
    writes = _writes.get()
    if writes is None:
        type(rows[0]).objects.bulk_create(rows)
        return
    for row in rows:
        writes.inserts.setdefault(type(row), []).append(row)


def once_at_burst_end(key: Hashable, work: Callable[[], None]) -> None:
    """Run `work` once at the end of a burst's fast pass, however many of its
    events ask for it under `key`; outside one, at once.

    For a derived figure every event of a burst would compute again (a
    statement file's outcome counts, after each approval that matched one of
    its lines): its last computation is the only one anyone reads. It runs
    before the burst's last statement, in the burst's transaction.
    """
    writes = _writes.get()
    if writes is None:
        work()
        return
    writes.at_end[key] = work


def inserts_flush() -> None:
    """Write the rows rows_insert has deferred in this burst, now.

    For a handler about to read rows of a model that another handler of the
    same burst may have deferred (settlement's matching reads the expectations
    its PaymentApproved handler defers when no statement line waits for them).
    Outside a burst's fast pass nothing is deferred, and this does nothing.
    """
    writes = _writes.get()
    if writes is None or not writes.inserts:
        return
    for model, rows in writes.inserts.items():
        model.objects.bulk_create(rows)
    writes.inserts.clear()


# While a burst runs, its delivery records are kept here and written in one
# statement before its commit (deliveries_deferred, writes_deferred);
# otherwise each is written at once.
_deferred: ContextVar[list[Delivery] | None] = ContextVar("deferred", default=None)


def _record(consumer: str, event_id, status: str, error: str = "") -> None:
    row = Delivery(
        consumer=consumer, event_id=event_id, status=status, error=error[:4000]
    )
    pending = _deferred.get()
    if pending is None:
        row.save(force_insert=True)
    else:
        pending.append(row)


@contextmanager
def deliveries_deferred():
    """Keep the delivery records of the block; write them in one statement at its
    end. Must run inside the transaction that applies the events: the records
    commit with them. Yields the list, so a caller that rolls an event back can
    drop that event's records from it."""
    with _deliveries_kept() as pending:
        yield pending
        if pending:
            Delivery.objects.bulk_create(pending)


@contextmanager
def _deliveries_kept():
    """Keep the block's delivery records in a list instead of writing them."""
    pending: list[Delivery] = []
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)


def _inbox_fields(event: Event) -> dict:
    """What an inbox row keeps of an event, whatever its status."""
    return {
        "event_type": event.type,
        "subject": event.subject,
        "sequence": event.sequence,
        "partition_key": event.partition_key,
        "envelope": event.envelope,
        # Indexed, so one organisation's trouble is found without reading JSON.
        "organisation_id": organisation_of(event.envelope),
    }


def readable_by(
    handlers: Handlers, event: Event
) -> tuple[Callable[[Event], None], Event] | None:
    """Return (handler, event as it reads it), upcasting an older version; or None.

    Handlers are written against the newest version they know; an older event
    goes through the upcasters of contracts/upcasters.py on the way in.
    """
    readable = {version for event_type, version in handlers if event_type == event.type}
    path = upcast_path(event.type, event.version, readable)
    if path is None:
        return None
    envelope = event.envelope
    for _ in path[1:]:
        envelope = upcast_once(envelope)
    if envelope is not event.envelope:
        event = Event.from_envelope(envelope)
    return handlers[(event.type, event.version)], event


def _apply(
    consumer: str, event: Event, handlers: Handlers, consumes: Collection[str], entry
) -> None:
    found = readable_by(handlers, event)
    if found is not None:
        handler, readable = found
        # What the handler publishes is caused by this event (and logs name it).
        with caused_by(Cause.of_event(consumer, event.envelope)):
            handler(readable)
    elif event.type in consumes:
        raise UnsupportedVersion(
            consumer,
            event,
            sorted(
                version for event_type, version in handlers if event_type == event.type
            ),
        )
    # An event of a type this consumer does not act on still advances its
    # position, so a gap in the sequence is always a real gap.
    now = timezone.now()
    if entry is None:  # not looked up: nothing of the subject was parked
        row = InboxEntry(
            consumer=consumer,
            event_id=event.id,
            status=DeliveryStatus.APPLIED,
            applied_at=now,
            **_inbox_fields(event),
        )
        writes = _writes.get()
        if writes is None:
            inbox_applied_upsert([row])
        else:
            writes.applied.append(row)
    else:
        entry.status, entry.applied_at, entry.error = DeliveryStatus.APPLIED, now, ""
        entry.save(update_fields=["status", "applied_at", "error"])
    _record(consumer, event.id, DeliveryStatus.APPLIED)


def consume(
    *,
    consumer: str,
    envelope: dict,
    handlers: Handlers,
    consumes: Collection[str] | None = None,
    on_stuck: Callable[[dict], None] | None = None,
    savepoint: bool = True,
) -> str:
    """Validate and apply one delivered event; return what happened to it.

    Inside a caller's transaction the event runs in a savepoint of its own,
    unless `savepoint` is False: then a failure leaves that transaction
    unusable, and the caller must roll it back whole (a burst's fast pass).

    `consumes` names the event types the consumer acts on (its declaration's;
    by default those of `handlers`). Raises ContractViolation/UnknownContract
    for a message that breaks its contract and UnsupportedVersion for a version
    of a consumed type it cannot read (neither is retried, nor applied), and
    whatever a handler raises (rolled back whole;
    the caller retries and finally dead-letters). A parked successor whose
    handler fails stays parked with its error, and after commit it is handed to
    `on_stuck` to be delivered again on its own, so its failure is retried and
    dead-lettered as itself, never blamed on the event that released it.
    """
    started = time.perf_counter()
    validate(envelope)
    event = Event.from_envelope(envelope)
    if consumes is None:
        consumes = consumed_types(handlers)
    with transaction.atomic(savepoint=savepoint):
        position = _position_lock(consumer, event.subject)
        # An applied event is at or below the position: the position and its
        # inbox row commit together.
        if event.sequence <= position.last_sequence:
            _record(consumer, event.id, DeliveryStatus.SKIPPED_DUPLICATE)
            consume_observed(consumer, event, DeliveryStatus.SKIPPED_DUPLICATE, started)
            return DeliveryStatus.SKIPPED_DUPLICATE
        if position.parked or event.sequence > position.last_sequence + 1:
            entry, parked_after = _inbox_rows(consumer, event)
        else:
            # The common case, in order with nothing parked: no lookup needed.
            entry, parked_after = None, []
        if event.sequence > position.last_sequence + 1:
            if not position.parked:
                position.parked = True
                _position_save(position, ["parked"])
            if entry is None:
                entry = InboxEntry.objects.create(
                    consumer=consumer,
                    event_id=event.id,
                    status=DeliveryStatus.PARKED,
                    **_inbox_fields(event),
                )
            elif entry.status != DeliveryStatus.PARKED:
                entry.status = DeliveryStatus.PARKED
                entry.save(update_fields=["status"])
            _record(consumer, event.id, DeliveryStatus.PARKED)
            consume_observed(consumer, event, DeliveryStatus.PARKED, started)
            return DeliveryStatus.PARKED
        _apply(consumer, event, handlers, consumes, entry)
        consume_observed(consumer, event, DeliveryStatus.APPLIED, started)
        position.last_sequence = event.sequence
        for parked in _parked_successors(parked_after, event.sequence):
            try:
                with transaction.atomic():
                    released = time.perf_counter()
                    successor = Event.from_envelope(parked.envelope)
                    _apply(consumer, successor, handlers, consumes, parked)
                    consume_observed(
                        consumer, successor, DeliveryStatus.APPLIED, released
                    )
            except Exception as exc:
                error = f"{exc.__class__.__name__}: {exc}"[:4000]
                InboxEntry.objects.filter(pk=parked.pk).update(error=error)
                _record(consumer, parked.event_id, DeliveryStatus.FAILED, error)
                if on_stuck is not None:
                    transaction.on_commit(
                        partial(_hand_over, on_stuck, parked.envelope)
                    )
                break
            position.last_sequence = parked.sequence
        # Parked events left only past a gap, or one that failed on release.
        position.parked = any(p.sequence > position.last_sequence for p in parked_after)
        _position_save(position, ["last_sequence", "parked"])
    return DeliveryStatus.APPLIED


def _hand_over(on_stuck: Callable[[dict], None], envelope: dict) -> None:
    """Re-send a successor that failed on release; a lost re-send costs latency only.

    Runs after the commit that applied its predecessor, so it must not fail the
    delivery that is being acked: the worker's sweep of parked events
    (events.worker.release_parked) applies the successor if this never arrives.
    """
    try:
        on_stuck(envelope)
    except Exception:
        logger.exception("re-send of parked event %s failed", envelope.get("id"))


def parked_ready(consumer: str, *, limit: int) -> list[InboxEntry]:
    """Parked events of `consumer` whose predecessor is applied: the gap is filled."""
    position = ConsumerPosition.objects.filter(
        consumer=consumer, subject=OuterRef("subject")
    ).values("last_sequence")[:1]
    return list(
        InboxEntry.objects.filter(consumer=consumer, status=DeliveryStatus.PARKED)
        .annotate(position=Subquery(position))
        .filter(sequence=F("position") + 1)
        .order_by("id")[:limit]
    )


def failed_attempts(consumer: str, event_id) -> int:
    return Delivery.objects.filter(
        consumer=consumer, event_id=event_id, status=DeliveryStatus.FAILED
    ).count()


def _inbox_rows(consumer: str, event: Event) -> tuple[InboxEntry | None, list]:
    """This event's inbox row, if any, and the subject's events parked after it.

    One query for both: it runs for every delivery, and parked rows are rare.
    Read under the position's lock, so nobody parks for this subject meanwhile.
    """
    rows = InboxEntry.objects.filter(consumer=consumer).filter(
        Q(event_id=event.id)
        | Q(
            subject=event.subject,
            status=DeliveryStatus.PARKED,
            sequence__gt=event.sequence,
        )
    )
    entry, parked = None, []
    for row in rows:
        if str(row.event_id) == str(event.id):
            entry = row
        else:
            parked.append(row)
    parked.sort(key=lambda row: row.sequence)
    return entry, parked


def _parked_successors(parked: list, sequence: int):
    """Yield the parked events that follow `sequence` without a gap, in order."""
    expected = sequence + 1
    for entry in parked:
        if entry.sequence != expected:
            return
        yield entry
        expected += 1


def failure_record(*, consumer: str, envelope: dict, error: str, final: bool) -> None:
    """Note a failed attempt (or the last, dead-lettered) in its own transaction."""
    status = DeliveryStatus.DEAD_LETTERED if final else DeliveryStatus.FAILED
    try:
        event_id = uuid.UUID(str(envelope["id"]))
    except (KeyError, TypeError, ValueError):
        return  # no usable event id: the dead-letter queue alone holds it
    with transaction.atomic():
        _record(consumer, event_id, status, error)
        if final:
            try:
                event = Event.from_envelope(envelope)
            except (KeyError, TypeError, ValueError, LookupError):
                return  # not even an envelope: the dead-letter queue holds it
            if InboxEntry.objects.filter(
                consumer=consumer, event_id=event.id, status=DeliveryStatus.APPLIED
            ).exists():
                return  # a bad copy of an applied event: the effect stands
            InboxEntry.objects.update_or_create(
                consumer=consumer,
                event_id=event.id,
                defaults={
                    **_inbox_fields(event),
                    "status": DeliveryStatus.DEAD_LETTERED,
                    "error": error[:4000],
                },
            )
