"""The relay: move committed outbox rows to the broker in order; mark them published.

One relay is active at a time (a leader lock; others wait as standbys), so one
partition's events are never reordered. Each cycle: claim a batch in a short
transaction (FOR UPDATE SKIP LOCKED) under a lease, check the leader lock is
still ours, publish with no transaction open, then mark the confirmed rows,
fenced by the claim token and the lease. A row that cannot be published holds
back its partition, never the relay (events/outbox_failures.py). With a
backlog, RelayPipeline claims the next batch and marks the previous one while
a batch's confirms are on their way. See docs/lessons/relay.md.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.messages import task_message
from events.metrics import relay_batch_observed, relay_errors_observed
from events.outbox_claims import (
    Claim,
    ClaimedRow,
    outbox_claim,
    outbox_fail,
    outbox_hold,
    outbox_mark_published,
    outbox_refuse,
    outbox_release,
)
from events.outbox_failures import Blocker, outbox_blockers
from events.publishers import BrokerUnavailable, Outgoing, Sent
from events.topology import EXCHANGE, partition_of, routing_key
from events.traces import relay_send_traced, relay_settle_traced

logger = logging.getLogger("events.relay")


class LeadershipLost(Exception):
    """The relay no longer holds the leader lock: it must stop publishing."""


class CorruptEnvelope(ValueError):
    """The stored envelope cannot be carried as a message."""


def outgoing(row: ClaimedRow) -> Outgoing:
    """Return the message that carries this row; CorruptEnvelope if none can."""
    envelope = row.envelope
    if not isinstance(envelope, dict):
        raise CorruptEnvelope(
            f"the envelope is {type(envelope).__name__}, not a JSON object"
        )
    for key in ("id", "type"):
        # Both go into AMQP properties and headers, where a non-string would
        # break the whole batch's publish instead of this one row.
        if not isinstance(envelope.get(key), str):
            raise CorruptEnvelope(f'the envelope has no string "{key}"')
    headers, properties, body = task_message(envelope)
    return Outgoing(
        row_id=row.id,
        exchange=EXCHANGE.name,
        routing_key=routing_key(row.event_type, partition_of(row.partition_key)),
        headers=headers,
        properties=properties,
        body=body,
    )


@dataclass
class Plan:
    """What one cycle does with its claimed rows, decided before publishing."""

    send: list[tuple[ClaimedRow, Outgoing]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # row id -> error
    held: dict[int, tuple[Blocker, list[int]]] = field(default_factory=dict)

    def hold(self, blocker: Blocker, row_id: int) -> None:
        self.held.setdefault(blocker.row_id, (blocker, []))[1].append(row_id)


def _plan(rows: list[ClaimedRow], blockers: dict[int, Blocker]) -> Plan:
    """Hold rows behind earlier blocking rows; fail rows no message can carry."""
    plan, blockers = Plan(), dict(blockers)
    for row in rows:
        partition = partition_of(row.partition_key)
        blocker = blockers.get(partition)
        if blocker is not None and blocker.row_id < row.id:
            plan.hold(blocker, row.id)
            continue
        try:
            plan.send.append((row, outgoing(row)))
        except Exception as exc:  # any error of one row is that row's, not the relay's
            plan.failed[row.id] = (
                f"cannot be sent as a message: {exc.__class__.__name__}: {exc}"
            )
            logger.error("event %s failed: %s", row.event_id, plan.failed[row.id])
            blockers[partition] = Blocker(row.id, str(row.event_id), partition)
    return plan


@dataclass
class Cycle:
    claimed: int = 0
    published: int = 0


def _may_publish(claim: Claim, leadership) -> bool:
    """Check, just before publishing, that the lock and the lease are still ours.

    Gives the rows back when they are not: raises LeadershipLost when the
    leader lock is gone, returns False when the lease ran out (a slow cycle).
    """
    row_ids = [row.id for row in claim.rows]
    if leadership is not None and not leadership.held():
        outbox_release(
            claim=claim, row_ids=row_ids, error="the relay lost its leader lock"
        )
        raise LeadershipLost("the leader lock's connection is gone")
    if timezone.now() >= claim.until:
        logger.warning("the claim's lease ran out before publishing; claiming again")
        outbox_release(claim=claim, row_ids=row_ids, error="the claim's lease ran out")
        return False
    return True


@dataclass
class InFlight:
    """A batch written to the broker, its confirms not yet read."""

    claim: Claim
    send: list[tuple[ClaimedRow, Outgoing]]
    sent: Sent
    spans: list
    started: float


@dataclass
class Settled:
    """A batch's answers: confirmed rows still to be marked, and refusals."""

    claim: Claim
    confirmed: list[int]
    refused_before: list[int]
    refused_in: dict[int, Blocker]  # partition -> the row refused first
    confirm_seconds: float


def _send(claim: Claim, blockers: dict[int, Blocker], publisher, leadership):
    """Plan a claimed batch and write it to the broker; None if nothing went out."""
    plan = _plan(claim.rows, blockers)
    if not _may_publish(claim, leadership):
        return None
    if plan.failed or plan.held:  # rarely: most cycles have nothing to set aside
        with transaction.atomic():
            for row_id, error in plan.failed.items():
                outbox_fail(claim=claim, row_ids=[row_id], error=error)
            for blocker, row_ids in plan.held.values():
                outbox_hold(claim=claim, blocker=blocker, row_ids=row_ids)
    relay_errors_observed("unsendable", len(plan.failed))
    if not plan.send:
        return None
    started = time.perf_counter()
    try:
        sent, spans = relay_send_traced(publisher, plan.send)
    except BrokerUnavailable as exc:
        _broker_lost(claim, [row.id for row, _ in plan.send], str(exc))
        raise
    return InFlight(claim, plan.send, sent, spans, started)


def _broker_lost(claim: Claim, row_ids: list[int], error: str) -> None:
    relay_errors_observed("broker_unavailable", len(row_ids))
    outbox_release(claim=claim, row_ids=row_ids, error=error)


def _settle(flight: InFlight, publisher) -> Settled:
    """Read a batch's confirms; record refusals and what waits behind them.

    No later event of a partition may be marked before an earlier one the
    broker refused: such rows are held behind it, to go again after it.
    """
    try:
        results = relay_settle_traced(publisher, flight.sent, flight.spans)
    except BrokerUnavailable as exc:
        _broker_lost(flight.claim, [row.id for row, _ in flight.send], str(exc))
        raise
    claim = flight.claim
    settled = Settled(
        claim=claim,
        confirmed=[],
        refused_before=[row.id for row, _ in flight.send if row.refusals],
        refused_in={},
        confirm_seconds=time.perf_counter() - flight.started,
    )
    stopped = Plan()
    for (row, _), error in zip(flight.send, results, strict=True):
        partition = partition_of(row.partition_key)
        if partition in settled.refused_in:
            # It may be in the queues already (sent before the refusal came
            # back); it goes again after the refused row, and consumers skip
            # the extra copy.
            stopped.hold(settled.refused_in[partition], row.id)
        elif error is not None:
            failed = outbox_refuse(claim=claim, row=row, error=error)
            logger.error(
                "event %s not published: %s%s",
                row.event_id,
                error,
                " (attempts used up: failed)" if failed else "",
            )
            settled.refused_in[partition] = Blocker(
                row.id, str(row.event_id), partition
            )
        else:
            settled.confirmed.append(row.id)
    for blocker, row_ids in stopped.held.values():
        outbox_hold(claim=claim, blocker=blocker, row_ids=row_ids)
    return settled


def _mark(settled: Settled) -> int:
    marked = outbox_mark_published(
        claim=settled.claim,
        row_ids=settled.confirmed,
        refused_before=settled.refused_before,
    )
    relay_batch_observed(
        confirm_seconds=settled.confirm_seconds,
        published=marked,
        refused=len(settled.refused_in),
    )
    if marked < len(settled.confirmed):
        logger.warning(
            "%d confirmed rows were claimed by another relay meanwhile, or the "
            "claim's lease ran out; left to be published again",
            len(settled.confirmed) - marked,
        )
    return marked


def _claim_next(
    batch_size: int, exclude, unmarked: "Settled | None" = None
) -> tuple[dict[int, Blocker], Claim, int]:
    """Claim the next batch; mark `unmarked` first, in the same transaction.

    One transaction for all three: at a few events per cycle, a commit per
    statement was a good part of the relay's share of commits per approval.
    Marked before the blockers are read, the batch before is no longer in
    the way of its partitions' next rows. Returns the blockers, the claim and
    how many rows were marked.
    """
    with transaction.atomic():
        marked = _mark(unmarked) if unmarked is not None else 0
        blockers = outbox_blockers(now=timezone.now())
        return blockers, outbox_claim(batch_size=batch_size, exclude=exclude), marked


@dataclass
class Ahead:
    """The next batch, claimed while the one before was on its way."""

    blockers: dict[int, Blocker]
    claim: Claim


class RelayPipeline:
    """Claim-publish-mark cycles where the database's work overlaps the broker's.

    With a backlog (a full batch, and `ahead`), the relay writes batch N to the
    broker and, while the broker stores and confirms it, marks batch N-1 and
    claims N+1 (the claim skips N's rows by N's token). Then it reads N's
    confirms and sends N+1. N+1 goes out only after N is settled, so a refusal
    in N holds N+1's later rows of that partition exactly as it holds N's own.
    A batch that is not full (no backlog) is settled at once: the overlap is
    for throughput and must not add latency. With `marks_wait`, its mark
    waits for the next claim and joins its transaction: at a steady trickle
    of events that is one commit per cycle instead of two. The relay's loop
    gives it `RELAY_MARK_WAIT_SECONDS` before claiming anyway (`unmarked`).
    See docs/lessons/relay.md#the-pipeline-the-database-works-while-the-broker-confirms.
    """

    def __init__(
        self,
        *,
        publisher,
        leadership=None,
        batch_size: int | None = None,
        ahead: bool = True,
        marks_wait: bool = False,
    ):
        self.publisher = publisher
        self.leadership = leadership
        self.batch_size = batch_size or settings.RELAY_BATCH_SIZE
        self.ahead = ahead
        self.marks_wait = marks_wait
        self.flight: InFlight | None = None
        self.next: Ahead | None = None  # done while the flight's confirms come
        # Confirmed, not yet marked: the next claim's transaction marks them.
        self.unmarked: Settled | None = None

    def step(self) -> Cycle:
        """Send one batch; settle and mark the one before it.

        Returns how many rows this step claimed and how many it marked
        published. Raises BrokerUnavailable when the broker is away (the rows
        are released, their attempts untouched) and LeadershipLost when the
        leader lock no longer holds; after any error nothing is in flight.
        """
        previous, self.flight = self.flight, None
        ahead, self.next = self.next, None
        try:
            return self._step(previous, ahead)
        except BaseException:
            if self.flight is not None or previous is not None:
                # Confirms may still come for what was written; without them
                # the rows stay claimed and the next claim sends them again.
                self.publisher.close()
            self.flight = self.next = None
            raise

    def _step(self, previous: InFlight | None, ahead: Ahead | None) -> Cycle:
        marked = 0
        if ahead is None:
            # On a failure the rows stay unmarked here, for the next claim: a
            # mark is fenced by its claim's token and lease, so a late one
            # marks nothing another relay has claimed since.
            blockers, claim, marked = _claim_next(self.batch_size, None, self.unmarked)
            self.unmarked = None
            ahead = Ahead(blockers, claim)
        claim, blockers = ahead.claim, ahead.blockers
        try:
            settled = _settle(previous, self.publisher) if previous else None
        except BrokerUnavailable as exc:
            row_ids = [row.id for row in claim.rows]
            outbox_release(claim=claim, row_ids=row_ids, error=str(exc))
            raise
        if settled is not None:
            blockers = {**blockers, **settled.refused_in}
        try:
            flight = (
                _send(claim, blockers, self.publisher, self.leadership)
                if claim.rows
                else None
            )
        finally:
            # After the send, so it overlaps the confirms; on a failure too:
            # these rows were confirmed before it.
            marked += _mark(settled) if settled is not None else 0
        if self.ahead and flight is not None and len(claim.rows) >= self.batch_size:
            self.flight = flight
            blockers, ahead_claim, _ = _claim_next(self.batch_size, claim.token)
            self.next = Ahead(blockers, ahead_claim)
        elif flight is not None:
            settled = _settle(flight, self.publisher)
            if self.marks_wait:
                self.unmarked = settled
            else:
                marked += _mark(settled)
        return Cycle(claimed=len(claim.rows), published=marked)

    def finish(self) -> int:
        """Settle and mark the batch in flight, if any, and what waits to be
        marked; return how many were marked.

        The batch claimed beside it was never sent: its rows are given back.
        """
        unmarked, self.unmarked = self.unmarked, None
        flight, self.flight = self.flight, None
        ahead, self.next = self.next, None
        if flight is None:
            return _mark(unmarked) if unmarked is not None else 0
        try:
            outbox_release(
                claim=ahead.claim,
                row_ids=[row.id for row in ahead.claim.rows],
                error="claimed ahead; the relay stopped before sending it",
            )
            marked = _mark(unmarked) if unmarked is not None else 0
            return marked + _mark(_settle(flight, self.publisher))
        except BaseException:
            self.publisher.close()
            raise


def relay_cycle(*, publisher, batch_size: int | None = None, leadership=None) -> Cycle:
    """Run one claim-publish-mark cycle; return how many rows it claimed, published.

    No event of a partition goes out before an earlier one that is waiting,
    failed, or refused in this batch; other partitions go on. Nothing is left
    in flight. Raises BrokerUnavailable when the broker is away (the rows are
    released, their attempts untouched) and LeadershipLost when `leadership`
    no longer holds.
    """
    return RelayPipeline(
        publisher=publisher, leadership=leadership, batch_size=batch_size, ahead=False
    ).step()


def relay_once(*, publisher, batch_size: int | None = None, leadership=None) -> int:
    """Run one cycle (see relay_cycle); return how many rows were published."""
    return relay_cycle(
        publisher=publisher, batch_size=batch_size, leadership=leadership
    ).published
