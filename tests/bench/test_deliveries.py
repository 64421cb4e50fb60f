"""The deliveries an approval makes, counted from the consumers' declarations."""

from bench.deliveries import deliveries_per_approval
from events.consumers import default_consumer_names


def test_an_approval_reaches_five_consumers_and_its_release_reaches_payments():
    # given: every declared consumer runs
    consumers = default_consumer_names()

    # when
    deliveries = deliveries_per_approval(consumers)

    # then
    assert deliveries == {"PaymentApproved": 5, "PaymentReleased": 1}


def test_a_consumer_that_does_not_run_receives_nothing():
    assert deliveries_per_approval(["payments", "ledger"]) == {
        "PaymentApproved": 1,
        "PaymentReleased": 1,
    }
