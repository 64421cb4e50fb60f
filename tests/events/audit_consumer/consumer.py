"""The whole of the audit consumer: its declaration and its one handler."""

from events.consumers import Consumer

AUDITED: list[str] = []


def on_payment_approved(event) -> None:
    AUDITED.append(str(event.id))


CONSUMER = Consumer(
    name="audit",
    consumes={("PaymentApproved", 1)},
    handlers={("PaymentApproved", 1): on_payment_approved},
    effects={"PaymentApproved": "files an audit record"},
)
