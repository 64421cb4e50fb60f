"""The poison message breaks the contract of either shape of an approval."""

import pytest

from contracts.registry import ContractViolation, validate
from lab.poison import poison_envelope
from tests.events_builders import payment_event


@pytest.mark.parametrize("version", [1, 2])
def test_a_poisoned_approval_carries_its_amount_as_a_string_and_breaks_its_contract(
    db, acme, alice, bob, version
):
    envelope = payment_event(
        "PaymentApproved",
        organisation=acme,
        submitted_by=alice,
        actor=bob,
        version=version,
    ).envelope

    broken = poison_envelope(envelope)

    amount = broken["data"]["amount"]
    assert (amount["value"] if version == 2 else amount) == "125.50"
    with pytest.raises(ContractViolation, match="amount"):
        validate(broken)
