"""The registry validates with a compiled validator and explains with the reference one.

Every golden sample must be judged alike by both (a sample one accepts and the
other refuses would make the fast path a different contract), and the refusal
keeps the reference validator's messages.
"""

import json
import uuid

import pytest

from contracts.registry import (
    SCHEMA_DIR,
    ContractViolation,
    _fast,
    _validator,
    validate,
)
from tests.events_builders import payment_event

SAMPLES = sorted((SCHEMA_DIR.parent / "samples").glob("*.json"))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_both_validators_judge_every_golden_sample_alike(path):
    # given
    name, version = path.name.split(".")[0], int(path.name.split(".")[1][1:])
    expected_valid = ".valid." in path.name

    for sample in json.loads(path.read_text()):
        # when
        fast = _fast(name, version).is_valid(sample["data"])
        reference = _validator(name, version).is_valid(sample["data"])

        # then
        assert fast is reference is expected_valid, sample.get("why")


def _approved_envelope(**data_changes) -> dict:
    class Someone:
        pk, username = 1, "alice"

        def get_username(self):
            return self.username

    class Organisation:
        pk = uuid.uuid4()

    envelope = payment_event(
        "PaymentApproved",
        organisation=Organisation(),
        submitted_by=Someone(),
        version=2,
    ).envelope
    envelope["data"].update(data_changes)
    return envelope


def test_a_refusal_keeps_the_reference_validators_message():
    # when
    with pytest.raises(ContractViolation) as refused:
        validate(_approved_envelope(amount={"value": -1, "currency": "EUR"}))

    # then
    assert refused.value.errors == [
        "data:amount/value: -1 is less than the minimum of 1"
    ]


def test_a_date_time_that_is_no_date_time_is_refused_with_its_path():
    # when: month 13 (the reference validator does not check date-time)
    with pytest.raises(ContractViolation) as refused:
        validate(_approved_envelope(approved_at="2026-13-04T10:00:00Z"))

    # then
    [error] = refused.value.errors
    assert error.startswith("data:approved_at: ")
    assert "date-time" in error


def test_a_valid_event_passes_both():
    # when / then: no exception, and the declared type and version
    assert validate(_approved_envelope()) == ("PaymentApproved", 2)
