"""Why a fault control refuses: nothing to act on, not now, or no broker."""

from domain.errors import Conflict, DomainError, NotFound


class ConsumerNotFound(NotFound):
    code = "consumer-not-found"
    title = "No such consumer"


class EventNotFound(NotFound):
    code = "event-not-found"
    title = "Event not found"


class PaymentEventsNotFound(NotFound):
    # The same problem type payments answers with: to a client both say "no such
    # payment in your organisation".
    code = "payment-not-found"
    title = "Payment not found"


class DeadLetterNotFound(NotFound):
    code = "dead-letter-not-found"
    title = "No such dead letter"


class NothingToRepair(NotFound):
    code = "nothing-to-repair"
    title = "No dead letter that the outbox can repair"


class EventNotPublished(Conflict):
    code = "event-not-published"
    title = "The event is not yet published"


class ReversalNotPossible(Conflict):
    code = "reversal-not-possible"
    title = "These events cannot be delivered out of order now"


class PoisonNotPossible(Conflict):
    code = "poison-not-possible"
    title = "A poison message cannot be placed now"


class DemoPaymentNotPossible(Conflict):
    code = "demo-payment-not-possible"
    title = "The lab cannot make this payment"


class BrokerUnreachable(DomainError):
    kind = "unavailable"
    code = "broker-unavailable"
    title = "The message broker cannot be reached"
