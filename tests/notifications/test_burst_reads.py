"""In a burst, who is told is asked once per organisation and per submitter."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from events.burst_reads import reads_shared
from events.inbox import readable_by
from notifications.handlers import HANDLERS
from notifications.models import Notification
from organisations.models import Membership
from tests.events_builders import payment_event

pytestmark = pytest.mark.usefixtures("with_emails")


def member_reads(queries) -> int:
    return sum(Membership._meta.db_table in q["sql"] for q in queries)


def test_a_burst_asks_for_its_approvers_once_and_each_submitter_once(
    acme, alice, bob, carol
):
    # given: two submissions by alice, one by carol, and their approvals
    makers = (alice, alice, carol)
    submitted = [
        payment_event("PaymentSubmitted", organisation=acme, submitted_by=maker)
        for maker in makers
    ]
    approved = [
        payment_event(
            "PaymentApproved",
            organisation=acme,
            submitted_by=maker,
            actor=bob,
            payment_id=event.data["payment_id"],
        )
        for maker, event in zip(makers, submitted, strict=True)
    ]

    # when: applied as a burst applies them, in one transaction
    with (
        CaptureQueriesContext(connection) as queries,
        transaction.atomic(),
        reads_shared(),
    ):
        for event in submitted + approved:
            handler, readable = readable_by(HANDLERS, event)
            handler(readable)

    # then: one read of acme's approvers, one of each submitter
    assert member_reads(queries) == 3
    # and each event told the right people: the approvers other than its
    # submitter, and its own submitter of the approval
    told = {
        event.id: sorted(
            Notification.objects.filter(event_id=event.id).values_list(
                "recipient__username", flat=True
            )
        )
        for event in submitted + approved
    }
    deciders = [["bob", "carol"], ["bob", "carol"], ["bob"]]
    assert [told[e.id] for e in submitted] == deciders
    assert [told[e.id] for e in approved] == [["alice"], ["alice"], ["carol"]]
