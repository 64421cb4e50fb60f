"""Who may act on a payment, and when: the maker-checker rules, in their order.

One list per command. The services raise the first refusal (payments/services.py);
the web asks the same lists in advance to show only the buttons that can work and
say why the others cannot (web/decisions.py). Both read the lists here, so they
cannot disagree on a rule, its message or its order. Maker-checker comes first
(the submitter never decides, whatever her roles), then the role; both come
before the state, so a caller who may not act learns nothing of the payment's
state. See docs/lessons/maker-checker-and-tenancy.md.
"""

from collections.abc import Callable
from dataclasses import dataclass

from domain.errors import DomainError
from organisations.errors import RoleRequired
from organisations.models import Membership
from payments.errors import NotSubmitter, PaymentNotPending, SelfApprovalForbidden
from payments.models import Payment, PaymentStatus


@dataclass(frozen=True)
class Refusal:
    """Why a command is refused: the error the service raises, and its message."""

    error: type[DomainError]
    message: str

    def exception(self) -> DomainError:
        return self.error(self.message)


@dataclass(frozen=True)
class Rule:
    """A condition a command needs, and the refusal when it does not hold."""

    holds: Callable[[Payment | None, Membership], bool]
    error: type[DomainError]
    message: Callable[[Payment | None], str]

    def refusal(
        self, payment: Payment | None, membership: Membership
    ) -> Refusal | None:
        if self.holds(payment, membership):
            return None
        return Refusal(self.error, self.message(payment))


MAKER = Rule(
    holds=lambda payment, membership: membership.is_maker,
    error=RoleRequired,
    message=lambda payment: "Only a maker may submit payments.",
)
APPROVER = Rule(
    holds=lambda payment, membership: membership.is_approver,
    error=RoleRequired,
    message=lambda payment: "Only an approver may approve or reject payments.",
)
SECOND_PERSON = Rule(
    holds=lambda payment, membership: payment.submitted_by_id != membership.user_id,
    error=SelfApprovalForbidden,
    message=lambda payment: (
        "You submitted this payment: a second person must approve or reject it "
        "(maker-checker)."
    ),
)
SUBMITTER = Rule(
    holds=lambda payment, membership: payment.submitted_by_id == membership.user_id,
    error=NotSubmitter,
    message=lambda payment: (
        f"Only {payment.submitted_by.get_username()}, who submitted it, may cancel "
        "this payment."
    ),
)
PENDING = Rule(
    holds=lambda payment, membership: payment.status == PaymentStatus.PENDING_APPROVAL,
    error=PaymentNotPending,
    message=lambda payment: (
        f"The payment is {PaymentStatus(payment.status).label.lower()}; only a "
        "payment awaiting approval can change."
    ),
)

SUBMIT_RULES = (MAKER,)
# Approve and reject are the checker's two answers: the same rules hold for both.
DECIDE_RULES = (SECOND_PERSON, APPROVER, PENDING)
CANCEL_RULES = (SUBMITTER, PENDING)


def first_refusal(
    rules, *, membership: Membership, payment: Payment | None = None
) -> Refusal | None:
    """Return the refusal of the first rule that does not hold, or None."""
    for rule in rules:
        if (refusal := rule.refusal(payment, membership)) is not None:
            return refusal
    return None


def submission_refusal(*, membership: Membership) -> Refusal | None:
    return first_refusal(SUBMIT_RULES, membership=membership)


def decision_refusal(*, payment: Payment, membership: Membership) -> Refusal | None:
    """Why the member may not approve or reject the payment, or None if they may."""
    return first_refusal(DECIDE_RULES, payment=payment, membership=membership)


def cancel_refusal(*, payment: Payment, membership: Membership) -> Refusal | None:
    return first_refusal(CANCEL_RULES, payment=payment, membership=membership)
