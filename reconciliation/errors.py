"""Reconciliation's refusals, free of HTTP (docs/adr/0012-error-homes.md)."""

from domain.errors import Conflict


class ExpectationMissing(Conflict):
    """A settlement for a payment whose approval has not reached reconciliation.

    Raised from the PaymentSettled handler, so the worker retries it with
    backoff, and in the end dead-letters it visibly, to be redriven.
    """

    code = "expectation-missing"
    title = "The payment's expectation is not here yet"
