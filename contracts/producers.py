"""Who publishes each event type: the one declaration the catalogue and the checks read.

An event type has one producer, the app that owns the fact, and the envelope's
`source` it writes. A new producer adds its types here beside its schemas;
`check_contracts` fails for a type with a schema and no producer
(contracts/checks.py). See docs/lessons/versioned-schemas.md#the-catalogue.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Producer:
    """The app that publishes a type, and the `source` its envelopes carry."""

    name: str
    source: str


PAYMENTS = Producer(name="payments", source="/payments")
BANK_GATEWAY = Producer(name="bank_gateway", source="/bank-gateway")
SETTLEMENT = Producer(name="settlement", source="/settlement")

PRODUCERS: dict[str, Producer] = {
    "PaymentSubmitted": PAYMENTS,
    "PaymentApproved": PAYMENTS,
    "PaymentRejected": PAYMENTS,
    "PaymentCancelled": PAYMENTS,
    "PaymentReleased": BANK_GATEWAY,
    "PaymentSettled": SETTLEMENT,
    "SettlementFileReceived": SETTLEMENT,
    "SettlementFileReprocessRequested": SETTLEMENT,
    "SettlementMismatchDetected": SETTLEMENT,
}
