"""The event log page filters by schema version and keeps the other filters."""

import re
from functools import partial

import pytest

from events.models import OutboxMessage
from payments.services import payment_approve
from tests.factories import payment_submitted
from web.selectors import event_log
from web.views import events as events_view

pytestmark = pytest.mark.django_db


@pytest.fixture
def approvals(settings, alice, bob, acme_eur):
    """Two approvals: one published as v1, then one as v2 (after the switch)."""
    first = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=first.id, actor=bob)
    settings.EVENT_VERSIONS = {"PaymentApproved": 2}
    second = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=second.id, actor=bob)
    return first, second


def shown(page: str) -> list[tuple[str, str]]:
    return re.findall(
        r'data-event-type="(\w+)">.*?<span class="meta">(v\d+) ·', page, re.S
    )


def test_the_log_filters_by_version(alice, browser_for, approvals):
    browser = browser_for(alice)

    # when
    v2 = browser.get("/events?version=2").content.decode()
    v1 = browser.get("/events?version=1").content.decode()

    # then
    assert shown(v2) == [("PaymentApproved", "v2")]
    assert shown(v1) == [
        ("PaymentSubmitted", "v1"),
        ("PaymentApproved", "v1"),
        ("PaymentSubmitted", "v1"),
    ]
    assert '<option value="2" selected>v2</option>' in v2


def test_the_version_filter_keeps_the_type_and_payment(alice, browser_for, approvals):
    first, second = approvals
    browser = browser_for(alice)

    # when
    page = browser.get(
        "/events", {"type": "PaymentApproved", "version": "1", "payment": first.id}
    ).content.decode()
    other = browser.get(
        "/events", {"type": "PaymentApproved", "version": "1", "payment": second.id}
    ).content.decode()

    # then
    assert shown(page) == [("PaymentApproved", "v1")]
    assert str(first.id) in page
    assert '<option value="PaymentApproved" selected>' in page
    assert '<option value="1" selected>v1</option>' in page
    assert f'value="{first.id}"' in page
    assert shown(other) == []
    assert "No events match this filter" in other


def test_the_next_page_keeps_every_filter(alice, browser_for, approvals, monkeypatch):
    # given: pages of one event
    monkeypatch.setattr(events_view, "event_log", partial(event_log, limit=1))
    browser = browser_for(alice)

    # when
    page = browser.get("/events?type=PaymentSubmitted&version=1").content.decode()

    # then
    [older] = re.findall(r'<a href="\?([^"]+)" rel="next">', page)
    newest = OutboxMessage.objects.filter(event_type="PaymentSubmitted").latest("id")
    assert older == f"type=PaymentSubmitted&amp;version=1&amp;before={newest.id}"
    second = browser.get(f"/events?{older.replace('&amp;', '&')}").content.decode()
    assert shown(second) == [("PaymentSubmitted", "v1")]


@pytest.mark.parametrize("version", ["two", "0", "1_0", "-1", "32768", "999999"])
def test_a_version_that_is_not_one_is_said_so(alice, browser_for, approvals, version):
    # when
    response = browser_for(alice).get("/events", {"version": version})

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not a version (a whole number such as 2)." in page
    assert shown(page) == []
    assert 'aria-invalid="true" aria-describedby="filter-version-error"' in page
