"""The two-minute story in Chromium, as the README promises it to a newcomer.

alice submits a payment; bob approves it; the flow shows all three consumers
applying PaymentApproved; a redelivery is skipped by each; the ledger holds one
entry and alice one approval notice; alice signs out and carol signs in with the
form, landing on the payments. bob approves with the keyboard alone. No
console errors, no other host, and the pages fit 1280x800 and 390x844. Each
step leaves a screenshot in test-artefacts/browser/.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, WIDE

pytestmark = pytest.mark.browser

CONSUMERS = ("ledger", "notifications", "reconciliation")


def lane(page, event_type: str, consumer: str):
    return page.locator(
        f'tr[data-event-type="{event_type}"] td[data-lane="{consumer}"]'
    )


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


def test_alice_submits_bob_approves_and_every_consumer_applies_it_once(open_page):
    watched = open_page("story", WIDE)
    page = watched.page

    # alice signs in with one click from the demo users' list
    watched.go("/")
    watched.shot("01-sign-in")
    page.get_by_role("button", name="Sign in as alice").click()
    expect(page.get_by_test_id("current-user")).to_have_text("alice")

    # a bad amount and IBAN are refused next to their fields, nothing is written
    page.get_by_label("Amount").fill("125.505")
    page.get_by_label("Pay to (name)").fill("Bolt Supplies GmbH")
    page.get_by_label("Creditor IBAN").fill("DE75 5121 0800 1245 1261 98")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("#id_amount_error")).to_have_text(
        "EUR has 2 decimals; 125.505 has 3 decimals."
    )
    expect(page.locator("#id_creditor_iban_error")).to_contain_text("mod-97")
    expect(page.get_by_text("No payments yet")).to_be_visible()
    watched.shot("02-refused-input")

    # then the payment as it should be
    page.get_by_label("Amount").fill("125.50")
    page.get_by_label("Creditor IBAN").fill("DE75 5121 0800 1245 1261 99")
    page.get_by_label("Reference").fill("INV-2026-0042")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "125.50 EUR to Bolt Supplies GmbH"
    )
    payment_url = page.url
    expect(page.get_by_test_id("approval-refusal")).to_have_text(
        "You submitted this payment: a second person must approve or reject it "
        "(maker-checker)."
    )
    expect(
        lane(page, "PaymentSubmitted", "notifications").locator(".status-applied")
    ).to_be_visible()
    watched.shot("03-submitted-by-alice")

    # bob takes over in one click and approves
    page.get_by_role("button", name="bob", exact=True).click()
    expect(page.get_by_test_id("current-user")).to_have_text("bob")
    assert page.url == payment_url

    # and approves it with the keyboard alone
    approve = page.get_by_role("button", name="Approve", exact=True)
    for _ in range(60):
        page.keyboard.press("Tab")
        if approve.evaluate("button => button === document.activeElement"):
            break
    else:
        pytest.fail("the Approve button cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("approved")

    # the flow shows PaymentApproved committed, published and applied by all three
    approved = page.locator('tr.event-row[data-event-type="PaymentApproved"]')
    expect(approved.locator('td[data-lane="relay"] .status-published')).to_be_visible()
    for consumer in CONSUMERS:
        expect(
            lane(page, "PaymentApproved", consumer).locator(".status-applied")
        ).to_have_count(1)
    expect(approved.locator('td[data-lane="relay"] .latency')).to_have_text(
        re.compile(r"^\+\d")
    )
    # payments reads only what others say about a payment: its queues are not
    # bound to the payment's own events (docs/adr/0019-bindings-per-stream.md)
    expect(lane(page, "PaymentApproved", "payments")).to_contain_text(
        "not bound: reads no event of this stream"
    )
    watched.shot("04-approved-and-applied")

    # the envelope and payload are one click away
    page.get_by_text("Envelope and payload of PaymentApproved #2").click()
    expect(page.locator("details[open] pre.json").last).to_contain_text(
        '"value": 12550'
    )

    # a redelivery reaches every consumer, and each skips it
    approved.get_by_role("button", name="Redeliver").click()
    for consumer in CONSUMERS:
        expect(
            lane(page, "PaymentApproved", consumer).locator(".status-skipped_duplicate")
        ).to_have_count(1)
        expect(
            lane(page, "PaymentApproved", consumer).locator(".status-applied")
        ).to_have_count(1)
    expect(page.locator("[data-flow-result]")).to_contain_text("skipped (duplicate)")
    watched.shot("05-redelivered-and-skipped")

    # the ledger booked the payment once, as a debit and a credit
    payment_id = payment_url.rstrip("/").rsplit("/", 1)[1]
    watched.go(f"/ledger?payment={payment_id}")
    expect(page.get_by_test_id("entry-count")).to_have_text("1")
    entry = page.locator("article.entry")
    expect(entry).to_have_count(1)
    expect(entry.locator("tbody tr")).to_have_count(2)
    expect(entry).to_contain_text("125.50 EUR")
    watched.shot("06-ledger-once")

    # the payment's second half: released at the cut-off, the bank's statement
    # lands and is processed, the payment settles and the ledger posts it
    for _ in range(40):  # the page is a snapshot: look again until it settles
        page.goto(payment_url)
        if page.locator("h1 .badge").inner_text() == "settled":
            break
        page.wait_for_timeout(1500)
    expect(page.locator("h1 .badge")).to_have_text("settled")
    expect(
        page.locator('tr.event-row[data-event-type="PaymentSettled"]')
    ).to_be_visible()
    expect(
        page.locator('tr.event-row[data-event-type="PaymentReleased"]')
    ).to_be_visible()
    watched.shot("06b-released-and-settled")
    watched.go("/settlement")
    statement = page.locator("tr[data-settlement-file]").first
    expect(statement.locator("[data-file-status]")).to_have_text("processed")
    statement.get_by_role("link").click()
    expect(page.locator('[data-lane="received"]')).to_contain_text("Landing folder")
    expect(page.locator('tr[data-outcome="matched"]')).not_to_have_count(0)
    watched.shot("06c-the-statement-and-its-lines")
    watched.go(f"/ledger?payment={payment_id}")
    expect(page.locator("[data-entry-status]")).to_have_text("posted")

    # alice was told about the approval once
    page.get_by_role("button", name="alice", exact=True).click()
    watched.go(f"/notifications?payment={payment_id}")
    expect(page.get_by_test_id("current-user")).to_have_text("alice")
    expect(
        page.locator('li.notification[data-event-type="PaymentApproved"]')
    ).to_have_count(1)
    expect(page.get_by_text("bob approved your payment")).to_be_visible()
    watched.shot("07-alice-told-once")

    # alice signs out, and carol signs in with the form (no `next`): she lands
    # on her payments, not on a "Not found" page
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username", exact=True).fill("carol")
    page.get_by_label("Password", exact=True).fill("demo-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_test_id("current-user")).to_have_text("carol")
    assert page.url == watched.base + "/payments"
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    expect(page.get_by_role("link", name="Bolt Supplies GmbH")).to_be_visible()
    watched.shot("08-carol-signed-in-by-form")
    watched.assert_clean()

    # a page that does not exist says so, under no unrelated lesson; its 404 is
    # the one thing Chromium reports
    response = watched.go("/accounts/profile/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("aside.lesson")).to_have_count(0)
    watched.shot("09-not-found-without-a-lesson")
    assert watched.console_errors == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]


PAGES = ["/payments", "/ledger", "/notifications", "/reconciliation", "/settlement",
         "/events", "/consumers", "/lab"]  # fmt: skip


@pytest.mark.parametrize(("size", "viewport"), [("wide", WIDE), ("phone", PHONE)])
def test_every_page_fits_the_screen_without_errors(open_page, size, viewport):
    watched = open_page(f"layout-{size}", viewport)
    page = watched.page
    watched.go("/sign-in")
    page.get_by_role("button", name="Sign in as carol").click()
    expect(page.get_by_test_id("current-user")).to_have_text("carol")
    # one payment, so the payment page has a flow to lay out
    page.get_by_label("Amount").fill("42")
    page.get_by_label("Pay to (name)").fill("Northwind Traders")
    page.get_by_label("Creditor IBAN").fill("GB33BUKB20201555555555")
    page.get_by_role("button", name="Submit for approval").click()
    expect(
        page.locator('tr.event-row[data-event-type="PaymentSubmitted"]')
    ).to_be_visible()
    payment_path = page.url.split(watched.base, 1)[1]
    visits = [("payment", payment_path)] + [(path.strip("/"), path) for path in PAGES]
    for number, (name, path) in enumerate(visits, start=1):
        watched.go(path)
        page.wait_for_load_state("networkidle")
        assert no_sideways_scroll(page), f"{path} scrolls sideways at {viewport}"
        expect(page.locator("aside.lesson")).to_be_visible()
        watched.shot(f"{number:02d}-{name}")
    watched.assert_clean()
