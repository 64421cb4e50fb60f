"""What the signed-in user may do with a payment, and if not, why not.

The page asks payments/rules.py, the rules the services enforce, in advance: it
shows only the buttons that can work and explains the others with the refusal
the service would give. The service still decides: a forged request is refused
there. See docs/lessons/maker-checker-and-tenancy.md.
"""

from dataclasses import dataclass

from payments.rules import cancel_refusal, decision_refusal, submission_refusal


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def _decision(refusal) -> Decision:
    return Decision(False, refusal.message) if refusal else Decision(True)


def submission_decision(*, membership) -> Decision:
    return _decision(submission_refusal(membership=membership))


def approval_decision(*, payment, membership) -> Decision:
    """May the member approve or reject the payment? (The same rules cover both.)"""
    return _decision(decision_refusal(payment=payment, membership=membership))


def cancel_decision(*, payment, membership) -> Decision:
    return _decision(cancel_refusal(payment=payment, membership=membership))
