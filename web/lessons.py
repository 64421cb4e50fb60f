"""The one lesson each page makes visible, and the walkthrough in docs/ behind it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    doc: str  # a path under docs/, served by the docs page


LESSONS = {
    "sign_in": Lesson(
        "Maker-checker and tenancy",
        "Every user acts for one organisation and holds roles: a maker submits, an "
        "approver releases, and nobody approves a payment they submitted.",
        "lessons/maker-checker-and-tenancy.md",
    ),
    "payments": Lesson(
        "Commands are not events",
        "Submitting is a command: it can be refused (try a bad IBAN or too many "
        "decimals), and then nothing is written. Once it succeeds, PaymentSubmitted "
        "is a fact that nobody can refuse.",
        "lessons/commands-vs-events.md",
    ),
    "payment": Lesson(
        "Maker-checker, enforced by the command",
        "Approve, reject and cancel appear only when you may use them; otherwise "
        "the page says why. The payments service checks the same rules again, so "
        "a forged request is refused and writes nothing.",
        "lessons/maker-checker-and-tenancy.md",
    ),
    "flow": Lesson(
        "The transactional outbox",
        "The payment row and its event commit in one transaction; the relay "
        "publishes later, once; the broker fans the event out to every consumer, "
        "and each applies it on its own schedule.",
        "lessons/transactional-outbox.md",
    ),
    "ledger": Lesson(
        "Idempotent consumers",
        "The ledger books each approved payment once, as balanced debits and "
        "credits. A redelivered or replayed event finds its inbox row and is "
        "skipped, so the balances never move twice.",
        "lessons/idempotent-consumers.md",
    ),
    "notifications": Lesson(
        "Effects outside the database",
        "An e-mail cannot join a database transaction, so the notification is "
        "recorded with the inbox row and sent after commit, keyed by the event: a "
        "duplicate delivery never tells you twice.",
        "lessons/idempotent-consumers.md",
    ),
    "reconciliation": Lesson(
        "One event, independent consumers",
        "Reconciliation learns about approvals from the same PaymentApproved the "
        "ledger and notifications receive. Payments does not know it exists; "
        "adding it changed neither payments nor the relay.",
        "lessons/fan-out.md",
    ),
    "settlement": Lesson(
        "Transfer is not processing",
        "A statement lands and its arrival is the event: receiving stores the "
        "bytes by their hash and announces them, nothing more. Processing is "
        "another consumer, on its own worker, that can run again on the same "
        "bytes without changing anything twice.",
        "lessons/transfer-vs-processing.md",
    ),
    "events": Lesson(
        "Events are a versioned public contract",
        "Every event travels in the same envelope with a type, a schema version, a "
        "per-payment sequence and a partition key; its payload is validated "
        "against a JSON Schema before it is written and again when it arrives.",
        "lessons/versioned-schemas.md",
    ),
    "catalogue": Lesson(
        "The contract, catalogued",
        "Each event type and every version of it, its fields side by side, the "
        "upcaster between versions, who publishes it and which version each "
        "consumer reads. All of it is read from contracts/ and the consumers' "
        "declarations, and served as an AsyncAPI document too.",
        "lessons/versioned-schemas.md",
    ),
    "consumers": Lesson(
        "What waits for each consumer",
        "The broker holds each consumer's backlog, partition by partition; the "
        "database knows what went wrong (dead letters, parked events) and who is "
        "there (paused, heartbeat).",
        "lessons/fault-controls.md",
    ),
    "lab": Lesson(
        "Break it on purpose",
        "Each control provokes what a real broker or producer does to consumers "
        "sooner or later. None deletes data or bypasses the inbox: what you see "
        "next is what the consumers would do in production.",
        "lessons/fault-controls.md",
    ),
}
