"""The ledger's refusals, free of HTTP (docs/adr/0012-error-homes.md)."""

from domain.errors import Conflict


class EntryNotBookedYet(Conflict):
    """A settlement for a payment whose approval the ledger has not booked yet.

    Raised from the PaymentSettled handler, so the worker retries it with
    backoff: the approval is usually just behind (another subject, no order
    between them). If it never comes, the settlement is dead-lettered, visibly,
    and redriven once the approval is booked.
    """

    code = "entry-not-booked-yet"
    title = "The payment's approval is not in the books yet"
