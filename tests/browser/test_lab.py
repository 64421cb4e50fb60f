"""The fault lab in Chromium against the real relay and workers: the relay's
stop switch holds a new payment's event in the outbox, and a poison message is
dead-lettered, shown on the consumers page, and repaired from the outbox.

The lab's commands run as the signed-in user with the payments service's rules:
carol (maker and approver, a demo operator) submits; bob, a second person,
approves.
"""

import pytest
from playwright.sync_api import expect

from events.topology import receivers
from tests.browser.conftest import WIDE

# Every consumer the demo runs: each applies every event (or skips its type).
# The consumers bound to a payment's own events: all but payments itself
# (docs/adr/0019-bindings-per-stream.md).
CONSUMERS = receivers(["PaymentApproved"])

pytestmark = pytest.mark.browser


def lab_as_carol(open_page, name: str):
    """A new page signed in as carol (maker, approver, operator), on the lab."""
    watched = open_page(name, WIDE)
    watched.go("/sign-in")
    watched.page.get_by_role("button", name="Sign in as carol").click()
    watched.go("/lab")
    return watched


def act_as(page, name: str) -> None:
    """Switch the demo user (unless already them) and wait for the page to say so."""
    button = page.locator("form.switcher").get_by_role("button", name=name, exact=True)
    if button.get_attribute("aria-pressed") != "true":
        button.click()
    expect(page.locator("form.switcher [aria-pressed=true]")).to_have_text(name)


def test_stop_the_relay_then_poison_a_message_and_repair_it(open_page):
    watched = lab_as_carol(open_page, "lab")
    page = watched.page
    card = {name: page.locator(f"#{name}") for name in ("relay", "poison")}
    ledger = page.locator('[data-mini-flow] td[data-consumer="ledger"]')

    # the relay stops; a submission commits, and its event waits in the outbox
    card["relay"].get_by_role("button", name="Stop the relay").click()
    expect(page.locator('[data-relay-state] [data-field="relay"]')).to_have_text(
        "stopped"
    )
    card["relay"].get_by_role("button", name="New payment").click()
    expect(page.locator("[data-mini-flow]")).to_contain_text(
        "in the outbox (relay stopped)"
    )
    expect(page.locator('[data-relay-state] [data-field="outbox"]')).to_have_text(
        "outbox: 1 waiting"
    )
    watched.shot("01-relay-stopped")

    # started again, it publishes it and every consumer applies it
    card["relay"].get_by_role("button", name="Start the relay").click()
    expect(page.locator('[data-mini-flow] [data-status="applied"]')).to_have_count(
        len(CONSUMERS)
    )
    expect(page.locator('[data-relay-state] [data-field="outbox"]')).to_have_text(
        "outbox: 0 waiting"
    )
    watched.shot("02-relay-drained")

    # a poison copy of a new payment's event is dead-lettered by ledger
    card["poison"].get_by_role("button", name="Pause ledger").click()
    expect(
        page.locator('[data-strip-consumer="ledger"] [data-field="state"]')
    ).to_have_text("paused")
    # The worker reads its pause flag once a second, between messages (solo
    # pool): give it a few of those seconds before the next event exists.
    page.wait_for_timeout(3000)
    card["poison"].get_by_role("button", name="New payment: carol submits").click()
    expect(ledger.first).to_have_text("waiting (paused)")
    expect(ledger).to_have_count(1)
    card["poison"].get_by_role("button", name="Swap its queued copy").click()
    expect(card["poison"].locator("[data-result]")).to_contain_text("a string")
    card["poison"].get_by_role("button", name="Resume ledger").click()
    expect(ledger.first.locator(".status-dead_lettered")).to_be_visible()

    # a second person approves (maker-checker holds in the lab too): the
    # approval parks behind the dead letter, at ledger only
    act_as(page, "bob")
    card["poison"].get_by_role("button", name="Approve it as bob").click()
    expect(ledger.nth(1).locator(".status-parked")).to_be_visible()
    expect(
        page.locator('[data-mini-flow] td[data-consumer="notifications"]')
        .nth(1)
        .locator(".status-applied")
    ).to_be_visible()
    watched.shot("03-poison-dead-lettered-and-parked")

    # the consumers page shows the dead letter and why
    lab_url = page.url
    watched.go("/consumers")
    expect(
        page.locator('[data-queue="ledger.dead"] [data-field="waiting"]')
    ).to_have_text("1")
    expect(page.locator('[data-trouble="ledger:dead_lettered"]')).to_contain_text(
        "contract:"
    )
    expect(page.locator('[data-trouble="ledger:parked"]')).to_be_visible()
    watched.shot("04-consumers-show-the-dead-letter")

    # redriven as it is, it dead-letters again; repaired from the outbox, it applies
    page.goto(lab_url)
    card["poison"].get_by_role("button", name="Redrive it as it is").click()
    expect(card["poison"].locator("[data-result]")).to_contain_text("Moved 1")
    expect(ledger.first).to_contain_text("deliveries")
    card["poison"].get_by_role("button", name="Clear the fault").click()
    # (its release and settlement may follow in the flow by now: count these two)
    for event_type in ("PaymentSubmitted", "PaymentApproved"):
        expect(
            page.locator(
                f'[data-mini-flow] tr[data-event-type="{event_type}"] '
                'td[data-consumer="ledger"] .status-applied'
            )
        ).to_have_count(1)
    watched.shot("05-repaired-from-the-outbox")

    watched.assert_clean()


def test_roll_out_v2_read_an_old_v1_and_refuse_what_a_consumer_cannot_read(
    open_page,
):
    watched = lab_as_carol(open_page, "lab-versions")
    page = watched.page
    card = {
        name: page.locator(f"#{name}")
        for name in ("rollout", "old-version", "unsupported")
    }
    approval = page.locator('[data-mini-flow] tr[data-event-type="PaymentApproved"]')
    ledger = approval.locator('td[data-consumer="ledger"]')

    def submit_then_approve(where) -> None:
        act_as(page, "carol")
        where.get_by_role("button", name="New payment: carol submits").click()
        expect(page.locator("[data-mini-flow] tr")).to_have_count(1)
        act_as(page, "bob")
        where.get_by_role("button", name="Approve it as bob").click()
        expect(where.locator("[data-result]")).to_contain_text("bob approved it")
        expect(approval).to_have_count(1, timeout=15000)

    # card 7: the producer switches live, and every consumer applies v2
    card["rollout"].get_by_role("button", name="Switch payments to v2").click()
    expect(card["rollout"].locator("[data-result]")).to_contain_text(
        "PaymentApproved v2"
    )
    submit_then_approve(card["rollout"])
    expect(approval.locator("[data-version]")).to_have_text("v2")
    expect(approval.locator('[data-status="applied"]')).to_have_count(len(CONSUMERS))
    watched.shot("06-rolled-out-to-v2")

    # card 8: a v1 approval waiting in ledger's queue is read after the switch
    card["old-version"].get_by_role("button", name="Switch payments to v1").click()
    card["old-version"].get_by_role("button", name="Pause ledger").click()
    page.wait_for_timeout(3000)  # the worker reads its flag once a second
    submit_then_approve(card["old-version"])
    expect(approval.locator("[data-version]")).to_have_text("v1")
    expect(ledger).to_have_text("waiting (paused)")
    card["old-version"].get_by_role("button", name="Switch payments to v2").click()
    card["old-version"].get_by_role("button", name="Resume ledger").click()
    expect(ledger).to_have_text("applied (upcast to v2)")
    card["old-version"].get_by_role("button", name="Redeliver it").click()
    expect(ledger).to_contain_text("2 deliveries")
    expect(ledger.locator(".status-skipped_duplicate")).to_be_visible()
    watched.shot("07-old-v1-upcast-and-applied-once")

    # card 9: an older release of ledger refuses v2; upgraded, it applies it
    card["unsupported"].get_by_role(
        "button", name="Make ledger an older release"
    ).click()
    expect(card["unsupported"].locator("[data-result]")).to_contain_text("up to v1")
    page.wait_for_timeout(3000)  # the worker reads the switch once a second
    submit_then_approve(card["unsupported"])
    expect(ledger).to_have_text("dead-lettered: unsupported version")
    expect(
        approval.locator('td[data-consumer="notifications"] .status-applied')
    ).to_be_visible()
    lab_url = page.url
    watched.go("/consumers")
    expect(page.locator('[data-trouble="ledger:dead_lettered"]')).to_contain_text(
        "unsupported-version"
    )
    watched.shot("08-unsupported-version-dead-lettered")
    page.goto(lab_url)
    card["unsupported"].get_by_role("button", name="Upgrade ledger").click()
    page.wait_for_timeout(3000)
    card["unsupported"].get_by_role("button", name="Redrive its dead letters").click()
    expect(card["unsupported"].locator("[data-result]")).to_contain_text("Moved 1")
    expect(ledger.locator(".status-applied")).to_be_visible()
    watched.shot("09-upgraded-and-redriven")

    watched.assert_clean()


def test_the_banks_statement_and_its_mistakes(open_page):
    watched = lab_as_carol(open_page, "lab-bank")
    page = watched.page
    card = page.locator("#bank")

    def statement_with(text: str):
        # The page is a snapshot: look again until that statement is there. The
        # earlier stories' payments settle meanwhile, so it need not be the newest.
        for _ in range(40):
            watched.go("/settlement")
            found = page.locator("tr[data-settlement-file]").filter(has_text=text)
            if found.count():
                return found.first
            page.wait_for_timeout(1000)
        raise AssertionError(f"no statement with {text!r} arrived")

    # the bank's next statement books the payment for a cent more
    card.get_by_role("button", name="…with a different amount").click()
    expect(card.locator("[data-result]")).to_contain_text("next statement")
    card.get_by_role("button", name="New payment: carol submits").click()
    expect(page.locator("[data-mini-flow] tr")).to_have_count(1)
    expect(card.locator("[data-result]")).to_contain_text("carol submitted")
    act_as(page, "bob")
    card.get_by_role("button", name="Approve it as bob").click()
    expect(card.locator("[data-result]")).to_contain_text("bob approved it")

    # it lands, is processed, and its line is an amount mismatch: nothing settles
    mismatched = statement_with("amount_mismatch 1")
    expect(mismatched.locator("[data-file-status]")).to_have_text("processed")
    mismatched.get_by_role("link").click()
    expect(page.locator('tr[data-outcome="amount_mismatch"]')).to_have_count(1)
    watched.shot("10-amount-mismatch")

    # a malformed file is received, then rejected with its reason
    watched.go("/lab")
    page.locator("#bank").get_by_role("button", name="Drop a malformed file").click()
    expect(page.locator("#bank [data-result]")).to_contain_text("malformed")
    rejected = statement_with("not-camt053")
    expect(rejected.locator("[data-file-status]")).to_have_text("rejected")
    watched.shot("11-malformed-rejected")
    watched.assert_clean()


def test_a_statement_that_lands_before_the_approval(open_page):
    watched = lab_as_carol(open_page, "lab-statement-first")
    page = watched.page
    card = page.locator("#statement-first")
    result = card.locator("[data-result]")
    approval = page.locator('[data-mini-flow] tr[data-event-type="PaymentApproved"]')
    settlement = approval.locator('td[data-consumer="settlement"]')

    # settlement's copy of the approval will be late: it cannot read v2 yet
    card.get_by_role("button", name="Switch payments to v2").click()
    expect(result).to_contain_text("PaymentApproved v2")
    card.get_by_role("button", name="Make settlement an older release").click()
    expect(result).to_contain_text("up to v1")
    page.wait_for_timeout(3000)  # the worker reads the switch once a second
    card.get_by_role("button", name="New payment: carol submits").click()
    expect(result).to_contain_text("carol submitted")
    act_as(page, "bob")
    card.get_by_role("button", name="Approve it as bob").click()
    expect(result).to_contain_text("bob approved it")
    expect(settlement).to_have_text("dead-lettered: unsupported version", timeout=15000)

    # the bank books it anyway; its statement line waits as unknown payment
    find = card.get_by_role("button", name="Find its statement line").first
    for _ in range(30):
        find.click()
        if "unknown payment" in (result.text_content() or ""):
            break
        page.wait_for_timeout(1000)
    expect(result).to_contain_text("waiting as unknown payment")
    watched.shot("12-statement-line-waiting")

    # the approval arrives: the waiting line is matched, the payment settles
    card.get_by_role("button", name="Upgrade settlement").click()
    expect(result).to_contain_text("settlement")
    page.wait_for_timeout(3000)
    card.get_by_role("button", name="Redrive its dead letters").click()
    expect(result).to_contain_text("Moved 1")
    expect(settlement.locator(".status-applied")).to_be_visible(timeout=15000)
    settled = page.locator('[data-mini-flow] tr[data-event-type="PaymentSettled"]')
    expect(settled).to_have_count(1, timeout=15000)
    find.click()
    expect(result).to_contain_text("matched: the payment is settled")
    watched.shot("13-statement-line-matched")
    watched.assert_clean()
