"""How many consumer deliveries one approval makes: counted from the consumers'
declarations, so the count follows the registry when a consumer is added."""

# The events every approval makes on its own: its PaymentApproved, and the bank
# gateway's PaymentReleased at the next cut-off. PaymentSettled (to four
# consumers) follows only once the bank's statement for the payment is
# processed, which the bench's phases may or may not wait for; leaving it out
# keeps the floor a floor.
APPROVAL_EVENTS = ("PaymentApproved", "PaymentReleased")


def deliveries_per_approval(consumers) -> dict[str, int]:
    """Each approval event's deliveries: one per consumer whose queues are bound
    to its type. The bindings are derived from each consumer's declared
    `consumes` (events/consumers.py registry(), events/topology.py receivers)."""
    from events.topology import receivers

    return {event: len(receivers([event], consumers)) for event in APPROVAL_EVENTS}
