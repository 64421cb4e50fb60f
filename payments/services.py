"""Commands: the only code that changes a payment.

Each command validates, changes state and writes its event to the outbox in one
transaction, or refuses and writes nothing. Who may run a command, and when, is
payments/rules.py's. See docs/lessons/commands-vs-events.md.

The transaction each command opens is the outermost one only when the caller
sent no Idempotency-Key. With a key, `@idempotent` (api/idempotency.py) wraps
the whole handler in its own `atomic()`, so the key's claim, the payment, its
outbox row and the key's stored answer commit together
(docs/adr/0024-idempotency-claim-in-the-effect-transaction.md). Submitting's
block is a savepoint inside it; a decision's joins it without one.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from contracts.currencies import minor_units
from domain.errors import Invalid
from organisations.errors import NoOrganisation
from organisations.selectors import membership_get
from payments.errors import AccountNotFound, InvalidAmount, PaymentNotFound
from payments.events import payment_event_publish
from payments.free_text import free_text_error
from payments.iban import iban_error, iban_normalise
from payments.locks import payment_lock
from payments.models import DebtorAccount, Payment, PaymentStatus
from payments.rules import (
    cancel_refusal,
    decision_refusal,
    submission_refusal,
)


def _membership(actor):
    membership = membership_get(user=actor)
    if membership is None:
        raise NoOrganisation("Ask an administrator to add you to an organisation.")
    return membership


def amount_check(*, amount: int, currency: str) -> None:
    """Refuse an amount that is not a positive integer under the currency's ceiling."""
    digits = minor_units(currency)
    if digits is None:
        raise Invalid(errors={"currency": [f"{currency!r} is not an ISO 4217 code."]})
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(errors={"amount": ["Must be an integer in minor units."]})
    ceiling = settings.PAYMENT_MAX_MAJOR_UNITS * 10**digits
    if amount <= 0:
        raise InvalidAmount(errors={"amount": ["Must be greater than zero."]})
    if amount > ceiling:
        raise InvalidAmount(
            errors={"amount": [f"Must be at most {ceiling} ({currency} minor units)."]}
        )


def _free_text_check(
    *, creditor_name: str = "", reference: str = "", reason: str = ""
) -> None:
    """Refuse control and invisible characters, naming every field that holds one."""
    errors: dict = {}
    if error := free_text_error(creditor_name):
        errors["creditor"] = {"name": [error]}
    if error := free_text_error(reference):
        errors["reference"] = [error]
    if error := free_text_error(reason):
        errors["reason"] = [error]
    if errors:
        raise Invalid(errors=errors)


def payment_submit(
    *,
    actor,
    debtor_account_id,
    amount: int,
    currency: str,
    creditor_name: str,
    creditor_iban: str,
    reference: str = "",
) -> Payment:
    """Create a payment awaiting approval and emit PaymentSubmitted."""
    membership = _membership(actor)
    if refusal := submission_refusal(membership=membership):
        raise refusal.exception()
    amount_check(amount=amount, currency=currency)
    creditor_name, reference = (creditor_name or "").strip(), (reference or "").strip()
    if not 1 <= len(creditor_name) <= 140:
        raise Invalid(errors={"creditor": {"name": ["Give 1 to 140 characters."]}})
    if len(reference) > 140:
        raise Invalid(errors={"reference": ["Give at most 140 characters."]})
    _free_text_check(creditor_name=creditor_name, reference=reference)
    iban = iban_normalise(creditor_iban)
    if error := iban_error(iban):
        raise Invalid(errors={"creditor": {"iban": [error]}})
    with transaction.atomic():
        try:
            account = DebtorAccount.objects.filter(
                id=debtor_account_id, organisation_id=membership.organisation_id
            ).first()
        except ValidationError:  # not a UUID: as unknown as another tenant's
            account = None
        if account is None:
            raise AccountNotFound(
                errors={"debtor_account": ["No such account in your organisation."]}
            )
        if account.currency != currency:
            raise Invalid(
                errors={
                    "currency": [
                        f"The debtor account holds {account.currency}, not {currency}."
                    ]
                }
            )
        payment = Payment.objects.create(
            organisation_id=membership.organisation_id,
            debtor_account=account,
            creditor_name=creditor_name,
            creditor_iban=iban,
            amount=amount,
            currency=currency,
            reference=reference,
            submitted_by=actor,
        )
        payment_event_publish(payment=payment, actor=actor)
    return payment


def _decide(*, payment_id, actor, refusal_of, apply) -> Payment:
    """Lock the payment, refuse by its rules, apply the change, emit its event.

    `apply(payment)` changes the payment and returns the names of the fields
    it changed: only those (and the version) are written.
    """
    membership = _membership(actor)
    # No savepoint inside a caller's transaction (the Idempotency-Key's): that
    # would be two more round trips, SAVEPOINT and RELEASE, on every decision.
    # An exception leaving a block without one spoils the caller's transaction,
    # so a refusal leaves the block first and is raised after it.
    with transaction.atomic(savepoint=False):
        payment = payment_lock(
            payment_id=payment_id, organisation_id=membership.organisation_id
        )
        refusal = (
            None
            if payment is None
            else refusal_of(payment=payment, membership=membership)
        )
        if payment is not None and refusal is None:
            changed = apply(payment)
            payment.version += 1
            # Only what the command changed: a smaller UPDATE, and no column
            # written back as it was read.
            payment.save(update_fields=[*changed, "version", "updated_at"])
            payment_event_publish(payment=payment, actor=actor)
    if payment is None:
        raise PaymentNotFound()
    if refusal is not None:
        raise refusal.exception()
    return payment


def payment_approve(*, payment_id, actor) -> Payment:
    """Approve a pending payment (not your own) and emit PaymentApproved."""

    def apply(payment: Payment) -> tuple[str, ...]:
        payment.status = PaymentStatus.APPROVED
        payment.approved_by = actor
        return ("status", "approved_by")

    return _decide(
        payment_id=payment_id,
        actor=actor,
        refusal_of=decision_refusal,
        apply=apply,
    )


def payment_reject(*, payment_id, actor, reason: str) -> Payment:
    """Reject a pending payment (not your own) with a reason; emit PaymentRejected."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(errors={"reason": ["A rejection needs a reason."]})
    _free_text_check(reason=reason)

    def apply(payment: Payment) -> tuple[str, ...]:
        payment.status = PaymentStatus.REJECTED
        payment.rejected_by = actor
        payment.rejection_reason = reason
        return ("status", "rejected_by", "rejection_reason")

    return _decide(
        payment_id=payment_id,
        actor=actor,
        refusal_of=decision_refusal,
        apply=apply,
    )


def payment_cancel(*, payment_id, actor) -> Payment:
    """Withdraw your own pending payment; emit PaymentCancelled."""

    def apply(payment: Payment) -> tuple[str, ...]:
        payment.status = PaymentStatus.CANCELLED
        return ("status",)

    return _decide(
        payment_id=payment_id,
        actor=actor,
        refusal_of=cancel_refusal,
        apply=apply,
    )
