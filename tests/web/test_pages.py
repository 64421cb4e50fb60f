"""Every page renders for a signed-in user, shows one lesson, and links to its
walkthrough, which the app serves from docs/ without leaving the host.
"""

import re

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from events.models import Delivery, DeliveryStatus, InboxEntry, OutboxMessage
from payments.services import payment_approve
from settlement.receiving import settlement_file_receive
from tests.factories import payment_submitted
from web.lessons import LESSONS

pytestmark = pytest.mark.django_db

PAGES = [
    "/payments",
    "/ledger",
    "/notifications",
    "/reconciliation",
    "/events",
    "/consumers",
    "/catalogue/",
    "/catalogue/PaymentApproved/",
    "/lab",
]


def test_every_lesson_points_at_a_walkthrough_that_exists():
    for lesson in LESSONS.values():
        assert (django_settings.BASE_DIR / "docs" / lesson.doc).is_file(), lesson.doc


@pytest.mark.parametrize("url", PAGES)
def test_each_page_shows_its_lesson_and_the_link_works(
    demo, alice, bob, acme_eur, browser_for, url
):
    # given: a payment, so the lists have something in them
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    browser = browser_for(alice)
    # when
    page = browser.get(url)
    # then
    assert page.status_code == 200
    html = page.content.decode()
    lesson = html.split('<aside class="lesson"', 1)[1].split("</aside>", 1)[0]
    assert len(re.findall(r'<a href="/docs/[^"]+">Walkthrough', lesson)) == 1
    for link in set(re.findall(r'<a href="(/docs/[^"#]+)[^"]*">Walkthrough', html)):
        assert browser.get(link).status_code == 200, link


def test_the_payment_page_shows_its_lesson(alice, acme_eur, browser_for):
    payment = payment_submitted(by=alice, account=acme_eur)
    html = browser_for(alice).get(f"/payments/{payment.id}").content.decode()
    assert "Maker-checker, enforced by the command" in html
    assert 'href="/docs/lessons/transactional-outbox.md"' in html


def test_no_page_refers_to_another_host(demo, alice, acme_eur, browser_for):
    payment = payment_submitted(by=alice, account=acme_eur)
    browser = browser_for(alice)
    for url in [*PAGES, f"/payments/{payment.id}", "/docs/lessons/fault-controls.md"]:
        html = browser.get(url).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_a_walkthrough_is_rendered_with_local_links_only(client):
    # when
    page = client.get("/docs/lessons/fault-controls.md")
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1" in html and "<table>" in html and "<pre><code>" in html
    assert 'href="/docs/adr/0009-inbox-positions-and-parking.md"' in html
    assert "<script" not in html.split("<article", 1)[1]


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../README.md",
        "/docs/%2e%2e/README.md",
        "/docs/../config/settings.py",
        "/docs/lessons/nope.md",
        "/docs/adr",
    ],
)
def test_only_files_under_docs_are_served(client, path):
    assert client.get(path).status_code == 404


def test_the_event_log_filters_by_type_and_payment(
    alice, bob, acme_eur, gina, globex_eur, browser_for
):
    # given
    first = payment_submitted(by=alice, account=acme_eur)
    second = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=second.id, actor=bob)
    theirs = payment_submitted(by=gina, account=globex_eur)
    approved = OutboxMessage.objects.get(event_type="PaymentApproved")
    Delivery.objects.create(
        consumer="ledger", event_id=approved.event_id, status="applied"
    )
    browser = browser_for(alice)
    # when
    everything = browser.get("/events").content.decode()
    by_type = browser.get("/events?type=PaymentApproved").content.decode()
    by_payment = browser.get(f"/events?payment={first.id}").content.decode()
    bad = browser.get("/events?payment=nope").content.decode()
    # then
    assert everything.count('class="card log-event"') == 3
    assert str(theirs.id) not in everything
    assert by_type.count('class="card log-event"') == 1
    assert '<span class="badge status-applied">applied</span>' in by_type
    assert by_payment.count('class="card log-event"') == 1
    assert str(first.id) in by_payment
    assert "Not a payment id" in bad


def test_the_ledger_and_inbox_filter_by_payment(alice, bob, acme_eur, browser_for):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    # when
    ledger = browser_for(bob).get(f"/ledger?payment={payment.id}").content.decode()
    inbox = browser_for(alice).get(f"/notifications?payment={payment.id}")
    # then
    assert "Showing payment" in ledger
    assert 'data-testid="entry-count">0<' in ledger
    assert inbox.status_code == 200


def test_a_user_outside_every_organisation_is_told_so(outsider, browser_for):
    response = browser_for(outsider).get("/payments")
    assert response.status_code == 403
    assert "You do not belong to an organisation" in response.content.decode()


def test_the_pages_own_json_stays_out_of_the_public_api_document(client):
    paths = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)


def test_the_inbox_says_when_an_e_mail_was_given_up(alice, acme, browser_for):
    # given: one e-mail sent, one the sender gave up on after its attempts
    import uuid

    from notifications.models import EmailStatus, Notification

    for status, subject in ((EmailStatus.SENT, "Sent"), (EmailStatus.FAILED, "Lost")):
        Notification.objects.create(
            recipient=alice,
            organisation=acme,
            payment_id=uuid.uuid4(),
            event_id=uuid.uuid4(),
            event_type="PaymentApproved",
            subject=subject,
            body="...",
            email_status=status,
            email_attempts=8,
            email_error="SMTPRecipientsRefused",
        )

    # when
    page = browser_for(alice).get("/notifications").content.decode()

    # then: the failure is visible, not "not sent yet"
    assert "e-mail failed after 8 attempts" in page
    assert "e-mail not sent yet" not in page


def test_the_consumers_page_shows_the_events_the_relay_gave_up_on(
    alice, bob, acme_eur, gina, globex_eur, browser_for
):
    # given: one failed event of acme, with the relay's error, and one of globex
    ours = payment_submitted(by=alice, account=acme_eur)
    theirs = payment_submitted(by=gina, account=globex_eur)
    failed_at = timezone.now()
    OutboxMessage.objects.filter(subject=str(ours.id)).update(
        failed_at=failed_at, refusals=10, last_error="unroutable: no queue bound"
    )
    OutboxMessage.objects.filter(subject=str(theirs.id)).update(failed_at=failed_at)
    [row] = OutboxMessage.objects.filter(subject=str(ours.id))
    [their_row] = OutboxMessage.objects.filter(subject=str(theirs.id))

    # when
    page = browser_for(bob).get("/consumers").content.decode()

    # then
    assert f'data-relay-row="{row.event_id}"' in page
    assert "unroutable: no queue bound" in page
    assert 'data-field="failed">1<' in page
    assert str(their_row.event_id) not in page


def test_an_event_of_another_source_is_shown_without_a_payment_link(
    alice, acme, acme_eur, browser_for
):
    # given: a settlement file's event beside a payment's
    payment = payment_submitted(by=alice, account=acme_eur)
    file, _ = settlement_file_receive(
        organisation_id=acme.id,
        data=b"<Document/>",
        content_type="application/xml",
        source="upload",
    )
    # when
    page = browser_for(alice).get("/events")
    # then: its subject as text; the payment's as a link
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="card log-event"') == 2
    assert f'<span class="mono">settlement-file/{file.id}</span>' in html
    assert f"/payments/{payment.id}" in html
    assert f"?payment=settlement-file/{file.id}" not in html


def test_a_stuck_event_of_another_source_is_listed_without_a_payment_link(
    alice, acme, browser_for
):
    # given: a consumer dead-lettered a settlement file's event
    file, _ = settlement_file_receive(
        organisation_id=acme.id,
        data=b"<Document/>",
        content_type="application/xml",
        source="upload",
    )
    event = OutboxMessage.objects.get()
    InboxEntry.objects.create(
        consumer="ledger",
        event_id=event.event_id,
        event_type=event.event_type,
        subject=event.subject,
        sequence=1,
        partition_key=event.partition_key,
        envelope=event.envelope,
        organisation_id=acme.id,
        status=DeliveryStatus.DEAD_LETTERED,
        error="ContractViolation: …",
    )
    # when
    page = browser_for(alice).get("/consumers")
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<span class="mono">settlement-file/{file.id}</span>' in html
