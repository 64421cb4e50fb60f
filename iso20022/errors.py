"""What the kit refuses, each with a stable `reason` code a caller can map."""


class Iso20022Error(ValueError):
    """Base of every refusal of the kit; `reason` is a stable code, e.g. "too-long"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class CreditTransferInvalid(Iso20022Error):
    """A pain.001 cannot be built from these values (nothing is truncated)."""


class CreditTransferUnreadable(Iso20022Error):
    """Bytes given as a pain.001.001.09 are not one, or not a safe one."""


class StatementInvalid(Iso20022Error):
    """A camt.053 cannot be built from these values."""


class StatementUnreadable(Iso20022Error):
    """Bytes given as a camt.053 are not one, or not a safe one.

    Reasons: not-xml, unsafe-xml, too-deep, not-camt053, malformed.
    """


class SimulatorRefused(Iso20022Error):
    """The simulated bank cannot book this pain.001 with these options."""
