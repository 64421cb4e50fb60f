"""The subjects of the events about one payment, a convention every producer follows.

Consumers keep a position per subject (events/inbox.py), and a subject's
sequence belongs to one producer. So payments' own events have the payment's
id as subject, and another producer's fact about the payment has the id plus
its aspect: `<payment id>/release` (the bank gateway), `<payment id>/settlement`
(the settlement). Each aspect happens once, so its sequence is always 1.
"""

ASPECTS = ("release", "settlement")


def payment_subject(payment_id, aspect: str) -> str:
    """The subject of another producer's event about the payment."""
    if aspect not in ASPECTS:
        raise ValueError(f"unknown aspect {aspect!r}; one of {', '.join(ASPECTS)}")
    return f"{payment_id}/{aspect}"


def payment_subjects(payment_id) -> list[str]:
    """Every subject an event about the payment may have."""
    return [str(payment_id), *(payment_subject(payment_id, a) for a in ASPECTS)]
