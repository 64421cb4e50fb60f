"""Why a payment command is refused; each maps to one problem type.

A missing role or organisation is tenancy's refusal (organisations/errors.py).
"""

from domain.errors import Conflict, Forbidden, Invalid, NotFound


class PaymentNotFound(NotFound):
    code = "payment-not-found"
    title = "Payment not found"


class AccountNotFound(Invalid):
    code = "account-not-found"
    title = "Debtor account not found"


class SelfApprovalForbidden(Forbidden):
    code = "maker-checker"
    title = "Maker-checker: you cannot decide on a payment you submitted"


class NotSubmitter(Forbidden):
    code = "not-submitter"
    title = "Only the submitter may cancel a payment"


class PaymentNotPending(Conflict):
    code = "payment-not-pending"
    title = "The payment is no longer awaiting approval"


class InvalidAmount(Invalid):
    code = "invalid-amount"
    title = "The amount is not valid for this currency"
