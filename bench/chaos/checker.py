"""The checker: after the drain, read the run's database and judge it.

Jepsen's queue checker sorts messages into lost / unexpected / duplicated; for
consumers whose effects must happen exactly once, a duplicate *effect* is a
failure too (docs/chaos.md lists every invariant). Each check is a count, so a
report says how much went wrong, not just that something did.
"""

import itertools
import re
from collections import Counter, defaultdict
from pathlib import Path

from bench.chaos.database import Connection
from bench.chaos.drain import UNSENT_EMAILS
from bench.chaos.ledger_reads import ledger_read
from bench.chaos.nemesis import Fault
from bench.chaos.options import (
    DUPLICATES,
    MAILER_KILL,
    POSTGRES_READ_ONLY,
    POSTGRES_RESTART,
    RABBITMQ_RESTART,
    RELAY_KILL,
    WORKER_KILL,
)
from bench.chaos.processes import CONSUMERS
from bench.chaos.workload import Approval

EXAMPLES = 5


# --- the clients' view --------------------------------------------------------------


def approvals_check(history: list[Approval], db: Connection) -> dict:
    """What the clients were told, against what the database says happened."""
    status = dict(db.rows("SELECT id::text, status FROM payments_payment"))
    submits = [a.submit for a in history if a.submit is not None]
    approves = [(a, a.approve) for a in history if a.approve is not None]
    accepted = [a for a, call in approves if call.ok]
    refused = Counter(
        f"{call.status} {call.code}".strip()
        for _, call in approves
        if call.status is not None and not call.ok
    )
    lost = [(a, call) for a, call in approves if call.lost]
    lost_kinds = Counter(kind for _, call in lost for kind in call.lost)
    final_states = Counter(status.get(a.payment_id, "missing") for a, _ in lost)
    known = {a.payment_id for a in history if a.payment_id}
    return {
        "planned": len(history),
        "submitted": sum(1 for c in submits if c.ok),
        "submits_refused": sum(1 for c in submits if c.status and not c.ok),
        "submits_without_answer": sum(1 for c in submits if c.status is None),
        "submits_with_lost_response": sum(1 for c in submits if c.lost),
        "accepted": len(accepted),
        "accepted_on_replay": sum(1 for a in accepted if a.approve.replayed),
        "refused": dict(refused),
        "without_answer": sum(1 for _, call in approves if call.status is None),
        "response_lost": {
            "approvals": len(lost),
            "attempts_by_kind": dict(lost_kinds),
            "finally_accepted_by_client": sum(1 for _, call in lost if call.ok),
            "final_state_in_db": dict(final_states),
        },
        "idempotency_in_progress_answers": sum(c.in_progress for _, c in approves),
        # A 2xx the database does not bear out is an acknowledged write lost.
        "accepted_but_not_approved": sum(
            1 for a in accepted if status.get(a.payment_id) != "approved"
        ),
        # Payments created by a submit whose answer never reached the client.
        "payments_unknown_to_clients": len(set(status) - known),
        "approved_in_db": sum(1 for s in status.values() if s == "approved"),
        "pending_in_db": sum(1 for s in status.values() if s == "pending_approval"),
    }


def outbox_check(db: Connection) -> dict:
    """State and outbox row commit together: no zombie records, no ghost messages."""
    half = db.rows(
        "SELECT p.id::text, p.status,"
        " count(o.id) FILTER (WHERE o.event_type = 'PaymentSubmitted'),"
        " count(o.id) FILTER (WHERE o.event_type = 'PaymentApproved')"
        " FROM payments_payment p"
        " LEFT JOIN events_outboxmessage o ON o.subject = p.id::text"
        " GROUP BY 1, 2"
        " HAVING count(o.id) FILTER (WHERE o.event_type = 'PaymentSubmitted') <> 1"
        " OR count(o.id) FILTER (WHERE o.event_type = 'PaymentApproved')"
        "    <> (CASE WHEN p.status = 'approved' THEN 1 ELSE 0 END)"
    )
    counts = dict(
        db.rows("SELECT event_type, count(*) FROM events_outboxmessage GROUP BY 1")
    )
    republished = db.rows(
        "SELECT count(*) FROM events_outboxmessage WHERE attempts > 1"
    )[0][0]
    unpublished = db.rows(
        "SELECT count(*) FROM events_outboxmessage WHERE published_at IS NULL"
    )[0][0]
    return {
        "events": counts,
        "unpublished": unpublished,
        "rows_claimed_more_than_once": republished,
        "half_states": len(half),
        "half_state_examples": [list(r) for r in half[:EXAMPLES]],
    }


# --- the consumers ------------------------------------------------------------------


def lost_check(db: Connection) -> dict:
    """Events some consumer never applied (Jepsen's `lost`)."""
    rows = db.rows(
        "SELECT c.consumer, o.event_id::text, o.event_type, coalesce(i.status, '')"
        " FROM events_outboxmessage o CROSS JOIN unnest(%s::text[]) AS c(consumer)"
        " LEFT JOIN events_inboxentry i"
        "  ON i.consumer = c.consumer AND i.event_id = o.event_id"
        " WHERE o.event_type IN ('PaymentSubmitted', 'PaymentApproved')"
        "  AND (i.id IS NULL OR i.status <> 'applied')",
        (list(CONSUMERS),),
    )
    per_consumer = Counter(consumer for consumer, *_ in rows)
    statuses = Counter(status or "no inbox row" for *_, status in rows)
    # Every event of the workload is valid: a dead letter can only mean that a
    # fault (a read-only window, say) was blamed on an event.
    dead = db.rows(
        "SELECT count(*) FROM events_inboxentry WHERE status = %s", ("dead_lettered",)
    )
    return {
        "total": len(rows),
        "dead_lettered": dead[0][0],
        "per_consumer": dict(per_consumer),
        "by_inbox_status": dict(statuses),
        "examples": [list(r) for r in rows[:EXAMPLES]],
    }


NOTIFICATIONS_EXPECTED = """
    SELECT o.event_id, m.user_id FROM events_outboxmessage o
    JOIN organisations_membership m
      ON m.organisation_id = (o.envelope->'data'->>'organisation_id')::uuid
     AND m.is_approver
    JOIN auth_user u ON u.id = m.user_id AND u.is_active
    WHERE o.event_type = 'PaymentSubmitted'
      AND m.user_id <> (o.envelope->'data'->'submitted_by'->>'id')::int
    UNION ALL
    SELECT o.event_id, (o.envelope->'data'->'submitted_by'->>'id')::int
    FROM events_outboxmessage o WHERE o.event_type = 'PaymentApproved'
"""


def effects_check(db: Connection) -> dict:
    """One effect per applied event: none missing, none unexpected, none doubled."""

    def one(query: str) -> int:
        return db.rows(query)[0][0]

    missing = {
        "journal_entries": one(
            "SELECT count(*) FROM payments_payment p WHERE p.status = 'approved'"
            " AND NOT EXISTS"
            " (SELECT 1 FROM ledger_journalentry e WHERE e.payment_id = p.id)"
        ),
        "expectations": one(
            "SELECT count(*) FROM payments_payment p WHERE p.status = 'approved'"
            " AND NOT EXISTS"
            " (SELECT 1 FROM reconciliation_expectation x WHERE x.payment_id = p.id)"
        ),
        "notifications": one(
            f"SELECT count(*) FROM (({NOTIFICATIONS_EXPECTED})"  # noqa: S608 - constant
            " EXCEPT SELECT event_id, recipient_id FROM notifications_notification)"
            " AS missing"
        ),
    }
    unexpected = {
        "journal_entries": one(
            "SELECT count(*) FROM ledger_journalentry e JOIN payments_payment p"
            " ON p.id = e.payment_id AND p.status <> 'approved'"
        )
        + one(
            "SELECT count(*) FROM ledger_journalentry e WHERE NOT EXISTS"
            " (SELECT 1 FROM payments_payment p WHERE p.id = e.payment_id)"
        ),
        "expectations": one(
            "SELECT count(*) FROM reconciliation_expectation x WHERE NOT EXISTS"
            " (SELECT 1 FROM payments_payment p WHERE p.id = x.payment_id"
            "  AND p.status = 'approved')"
        ),
        "notifications": one(
            "SELECT count(*) FROM (SELECT event_id, recipient_id"  # noqa: S608
            f" FROM notifications_notification EXCEPT ({NOTIFICATIONS_EXPECTED}))"
            " AS unexpected"
        ),
    }

    def doubled(table: str, key: str) -> int:
        # Table and column names are constants of this module, never input.
        return one(
            f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY {key}"  # noqa: S608
            " HAVING count(*) > 1) AS doubled"
        )

    double = {
        "journal_entries_per_payment": doubled("ledger_journalentry", "payment_id"),
        "journal_entries_per_event": doubled("ledger_journalentry", "event_id"),
        "expectations_per_payment": doubled("reconciliation_expectation", "payment_id"),
        "notifications_per_event_and_recipient": doubled(
            "notifications_notification", "event_id, recipient_id"
        ),
        "inbox_rows_per_consumer_and_event": doubled(
            "events_inboxentry", "consumer, event_id"
        ),
        "applied_deliveries_per_consumer_and_event": one(
            "SELECT count(*) FROM (SELECT 1 FROM events_delivery"
            " WHERE status = 'applied' GROUP BY consumer, event_id"
            " HAVING count(*) > 1) AS doubled"
        ),
    }
    return {
        "missing": missing,
        "unexpected": unexpected,
        "double_applied": double,
        "double_applied_total": sum(double.values()),
    }


def emails_check(db: Connection, mailer_log: Path) -> dict:
    """Notification e-mails unsent after the drain, and those sent twice.

    The e-mail leaves after the consumer's commit and is then marked sent; a
    mailer killed in between, or a database restart, leaves it unmarked, and
    once its claim runs out the mailer sends it again, under the same
    Message-ID (at least once, never lost). The console backend writes each
    message to the mailer's log, which is where the copies are counted.
    """
    pending = db.rows(UNSENT_EMAILS)[0][0]
    sent = db.rows(
        "SELECT count(*) FROM notifications_notification"
        " WHERE email_sent_at IS NOT NULL"
    )[0][0]
    try:
        log = mailer_log.read_text(errors="replace")
    except OSError:
        log = ""
    copies = Counter(re.findall(r"^Message-ID: (\S+)$", log, flags=re.MULTILINE))
    return {
        "sent": sent,
        "unsent_after_drain": pending,
        "messages_written": sum(copies.values()),
        "sent_more_than_once": sum(1 for n in copies.values() if n > 1),
    }


def ledger_check(db: Connection) -> dict:
    """The final bank read, and conservation: the ledger moved what was approved."""
    final = ledger_read(db)
    moved = dict(
        db.rows(
            "SELECT l.currency, sum(l.amount) FROM ledger_journalline l"
            " JOIN ledger_account a ON a.id = l.account_id"
            " WHERE a.kind = 'bank' AND l.direction = 'credit' GROUP BY 1"
        )
    )
    approved = dict(
        db.rows(
            "SELECT currency, sum(amount) FROM payments_payment"
            " WHERE status = 'approved' GROUP BY 1"
        )
    )
    currencies = sorted(set(moved) | set(approved))
    conservation = {
        c: {"approved": int(approved.get(c, 0)), "moved": int(moved.get(c, 0))}
        for c in currencies
    }
    return {
        "final": final,
        "matches_approved_amounts": all(
            v["approved"] == v["moved"] for v in conservation.values()
        ),
        "conservation": conservation,
    }


def order_check(db: Connection) -> dict:
    """Per consumer: each payment's events in sequence order, and each debtor
    account's events in the order the relay published them.

    Publish order is (published_at, id), as tests/e2e/test_real_stack.py reads
    it. A row the relay published twice (a kill between its confirm and its
    mark) carries the second publish's time while the consumer applied the
    first copy, so an inversion involving such a row is reported as ambiguous
    rather than as a violation.
    """
    rows = db.rows(
        "SELECT d.consumer, o.subject, o.sequence, o.partition_key, o.published_at,"
        " o.id, o.attempts, o.event_id::text FROM events_delivery d"
        " JOIN events_outboxmessage o ON o.event_id = d.event_id"
        " WHERE d.status = 'applied' ORDER BY d.id"
    )
    payments: dict = defaultdict(list)
    accounts: dict = defaultdict(list)
    for consumer, subject, sequence, key, published_at, row_id, attempts, eid in rows:
        payments[(consumer, subject)].append(sequence)
        accounts[(consumer, key)].append((published_at, row_id, attempts, eid))
    payment_violations = [
        (consumer, subject, seqs)
        for (consumer, subject), seqs in payments.items()
        if seqs != list(range(1, len(seqs) + 1))
    ]
    account_violations, ambiguous = [], []
    per_consumer: Counter = Counter()
    for (consumer, key), applied in accounts.items():
        for earlier, later in itertools.pairwise(applied):
            if (later[0], later[1]) >= (earlier[0], earlier[1]):
                continue
            example = {
                "consumer": consumer,
                "account": key,
                "applied_first": {
                    "event": earlier[3],
                    "published_at": str(earlier[0]),
                    "outbox_id": earlier[1],
                },
                "applied_second": {
                    "event": later[3],
                    "published_at": str(later[0]),
                    "outbox_id": later[1],
                },
            }
            if earlier[2] > 1 or later[2] > 1:
                ambiguous.append(example)
            else:
                account_violations.append(example)
                per_consumer[consumer] += 1
    return {
        "total": len(payment_violations) + len(account_violations),
        "per_payment": len(payment_violations),
        "per_account": len(account_violations),
        "per_account_by_consumer": dict(per_consumer),
        "ambiguous_republished": len(ambiguous),
        "payment_examples": [list(v) for v in payment_violations[:EXAMPLES]],
        "account_examples": account_violations[:EXAMPLES],
        # Every inversion, for attribution: which event arrived late, and where.
        "account_late_events": [
            [v["consumer"], v["applied_second"]["event"]]
            for v in account_violations[:5000]
        ],
        "ambiguous_examples": ambiguous[:EXAMPLES],
    }


def deliveries_check(db: Connection) -> dict:
    """What each consumer did with every delivery: evidence of redeliveries."""
    result: dict = defaultdict(dict)
    for consumer, status, count in db.rows(
        "SELECT consumer, status, count(*) FROM events_delivery GROUP BY 1, 2"
    ):
        result[consumer][status] = count
    return dict(result)


# --- the faults ---------------------------------------------------------------------


def faults_check(faults: list[Fault], enabled, copies: Counter, db: Connection):
    """Count the faults that took effect, and confirm kills between effect and ack.

    A kill right after an effect landed before the ack if the broker delivered
    that event again: the consumer then recorded more skipped duplicates of it
    than the copies injected and the relay's extra publishes explain.
    """
    fired = [f for f in faults if f.fired]
    count = Counter(f.kind for f in fired)
    aimed = [f for f in fired if f.kind == WORKER_KILL and f.detail.get("after_event")]
    confirmed: Counter = Counter()
    for fault in aimed:
        consumer = fault.detail["worker"].removesuffix("-worker")
        event_id = fault.detail["after_event"]
        skipped, attempts = db.rows(
            "SELECT (SELECT count(*) FROM events_delivery WHERE consumer = %s"
            "  AND event_id = %s AND status = 'skipped_duplicate'),"
            " (SELECT attempts FROM events_outboxmessage WHERE event_id = %s)",
            (consumer, event_id, event_id),
        )[0]
        explained = copies.get(event_id, 0) + max(0, (attempts or 1) - 1)
        fault.detail["redelivered_after_kill"] = skipped > explained
        if skipped > explained:
            confirmed[fault.kind] += 1
    not_fired = sorted(set(enabled) - set(count))
    return {
        "relay_kills": count[RELAY_KILL],
        "relay_kills_with_claimed_rows_in_flight": sum(
            1
            for f in fired
            if f.kind == RELAY_KILL and f.detail.get("claimed_rows_in_flight")
        ),
        "worker_kills": count[WORKER_KILL],
        "worker_kills_right_after_an_effect": sum(
            1 for f in aimed if f.kind == WORKER_KILL
        ),
        "worker_kills_between_effect_and_ack": confirmed[WORKER_KILL],
        "mailer_kills": count[MAILER_KILL],
        "mailer_kills_with_claimed_emails_in_flight": sum(
            1
            for f in fired
            if f.kind == MAILER_KILL and f.detail.get("claimed_emails_in_flight")
        ),
        "rabbitmq_restarts": count[RABBITMQ_RESTART],
        "postgres_restarts": count[POSTGRES_RESTART],
        "postgres_read_only_windows": count[POSTGRES_READ_ONLY],
        "duplicate_injections": count[DUPLICATES],
        "duplicates_injected": sum(copies.values()),
        "faults_that_did_not_fire": [
            {"kind": f.kind, "variant": f.variant, "error": f.error}
            for f in faults
            if not f.fired
        ],
        "enabled": sorted(enabled),
        "never_fired": not_fired,
    }


# --- the verdict --------------------------------------------------------------------


def verdict(result: dict) -> tuple[str, list[str]]:
    """PASS, FAIL (an invariant broke) or INCONCLUSIVE (a fault never fired)."""
    reasons = []

    def require(ok: bool, what: str) -> None:
        if not ok:
            reasons.append(what)

    a, e, o = result["approvals"], result["effects"], result["order"]
    require(result["lost"]["total"] == 0, f"lost events: {result['lost']['total']}")
    dead = result["lost"].get("dead_lettered", 0)
    require(dead == 0, f"dead-lettered events: {dead}")
    require(
        e["double_applied_total"] == 0, f"double-applied effects: {e['double_applied']}"
    )
    require(not any(e["missing"].values()), f"missing effects: {e['missing']}")
    require(not any(e["unexpected"].values()), f"unexpected effects: {e['unexpected']}")
    require(
        result["ledger_reads"]["unbalanced_reads"] == 0,
        "unbalanced ledger reads during the run",
    )
    require(result["ledger"]["final"]["balanced"], "final ledger unbalanced")
    require(
        result["ledger"]["matches_approved_amounts"],
        "ledger totals differ from the approved amounts",
    )
    require(o["total"] == 0, f"sequence-order violations: {o['total']}")
    require(
        result["queues"]["left"] == 0,
        f"messages left in queues: {result['queues']['left']}",
    )
    require(result["drain"]["drained"], "the pipeline did not drain")
    unsent = result["emails"]["unsent_after_drain"]
    require(unsent == 0, f"notification e-mails never sent: {unsent}")
    require(
        a["accepted_but_not_approved"] == 0,
        "approvals answered 2xx but not approved in the database",
    )
    require(
        result["outbox"]["half_states"] == 0,
        "payments whose state and outbox rows disagree",
    )
    deaths = result["processes"]["died_unexpectedly"]
    require(
        not deaths, f"processes died unexpectedly: {[d['service'] for d in deaths]}"
    )
    require(
        not result.get("infrastructure_notes"),
        f"infrastructure: {result.get('infrastructure_notes')}",
    )
    if reasons:
        return "FAIL", reasons
    never = result["faults"]["never_fired"]
    if never or a["accepted"] == 0:
        return "INCONCLUSIVE", [f"faults that never fired: {never}"] if never else [
            "no approval was accepted"
        ]
    return "PASS", []
