"""The payment pages: the list and its form, one payment's decisions, its flow."""

import uuid
from urllib.parse import urlencode

import pytest

from events.models import OutboxMessage
from payments.models import Payment, PaymentStatus
from payments.services import payment_approve
from tests.assertions import written_state
from tests.factories import DebtorAccountFactory, payment_submitted

pytestmark = pytest.mark.django_db

GOOD_IBAN = "DE75 5121 0800 1245 1261 99"


def form(account, **overrides) -> dict:
    data = {
        "debtor_account": str(account.id),
        "amount": "125.50",
        "creditor_name": "Bolt Supplies GmbH",
        "creditor_iban": GOOD_IBAN,
        "reference": "INV-2026-0042",
    }
    data.update(overrides)
    return data


def test_a_maker_submits_a_payment_in_major_units(alice, acme_eur, browser_for):
    # when
    response = browser_for(alice).post("/payments/new", form(acme_eur))
    # then: stored in minor units, with its event, and shown on its own page
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/payments/{payment.id}"
    assert (payment.amount, payment.currency) == (12550, "EUR")
    assert payment.creditor_iban == "DE75512108001245126199"
    assert payment.submitted_by == alice
    event = OutboxMessage.objects.get(subject=str(payment.id))
    assert (event.event_type, event.envelope["data"]["amount"]) == (
        "PaymentSubmitted",
        12550,
    )


def test_the_currency_of_the_account_decides_the_decimals(alice, acme, browser_for):
    # given
    yen = DebtorAccountFactory(organisation=acme, currency="JPY")
    # when
    browser_for(alice).post("/payments/new", form(yen, amount="12500"))
    # then
    assert Payment.objects.get().amount == 12500


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "125.505", "EUR has 2 decimals; 125.505 has 3 decimals."),
        ("amount", "twelve", "Not a number"),
        ("amount", "0", "Must be greater than zero."),
        ("creditor_iban", "DE75 5121 0800 1245 1261 98", "mod-97 checksum failed"),
        ("creditor_iban", "DE75 5121", "Not an IBAN"),
        ("creditor_name", "", "This field is required."),
        ("reference", "x" * 141, "at most 140 characters"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(
    alice, acme_eur, browser_for, field, value, message
):
    # given
    before = written_state()
    # when
    response = browser_for(alice).post(
        "/payments/new", form(acme_eur, **{field: value})
    )
    # then: the page again, the message inside that field's error block
    page = response.content.decode()
    assert response.status_code == 200
    error_block = page.split(f'id="id_{field}_error"', 1)[1].split("</div>", 1)[0]
    assert message in error_block
    assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in page or (
        f'aria-describedby="id_{field}_error"' in page
    )
    assert written_state() == before


def test_every_field_is_checked_at_once(alice, acme_eur, browser_for):
    # when
    response = browser_for(alice).post(
        "/payments/new",
        form(acme_eur, amount="1.001", creditor_iban="GB00 0000", creditor_name=""),
    )
    # then
    page = response.content.decode()
    for field in ("amount", "creditor_iban", "creditor_name"):
        assert f'id="id_{field}_error"' in page
    assert not Payment.objects.exists()


def test_another_organisations_account_cannot_be_chosen(alice, globex_eur, browser_for):
    # when
    response = browser_for(alice).post("/payments/new", form(globex_eur))
    # then
    assert 'id="id_debtor_account_error"' in response.content.decode()
    assert not Payment.objects.exists()


def test_an_approver_gets_no_form_and_cannot_post_one(bob, acme_eur, browser_for):
    # given
    browser = browser_for(bob)
    # when
    page = browser.get("/payments").content.decode()
    refused = browser.post("/payments/new", form(acme_eur))
    # then
    assert "Submit for approval" not in page
    assert "Only a maker may submit payments." in page
    assert "Only a maker may submit payments." in refused.content.decode()
    assert not Payment.objects.exists()


def test_the_list_filters_by_status(alice, bob, acme_eur, browser_for):
    # given
    pending = payment_submitted(by=alice, account=acme_eur, creditor_name="Pending Co")
    approved = payment_submitted(by=alice, account=acme_eur, creditor_name="Done Co")
    payment_approve(payment_id=approved.id, actor=bob)
    browser = browser_for(alice)
    # when
    everything = browser.get("/payments").content.decode()
    only_approved = browser.get("/payments?status=approved").content.decode()
    nonsense = browser.get("/payments?status=<script>").content.decode()
    # then
    assert "Pending Co" in everything and "Done Co" in everything
    assert "Done Co" in only_approved and "Pending Co" not in only_approved
    assert "Pending Co" in nonsense and "<script>" not in nonsense
    assert str(pending.id) in everything


# --- decisions ------------------------------------------------------------------


def test_the_submitter_is_told_why_she_cannot_approve(alice, acme_eur, browser_for):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    # when
    page = browser_for(alice).get(f"/payments/{payment.id}").content.decode()
    # then
    assert (
        "You submitted this payment: a second person must approve or reject it "
        "(maker-checker)." in page
    )
    assert f"/payments/{payment.id}/approve" not in page
    assert f"/payments/{payment.id}/reject" not in page
    assert f"/payments/{payment.id}/cancel" in page


def test_a_maker_and_approver_sees_maker_checker_on_her_own_payment(
    carol, acme_eur, browser_for
):
    # given
    payment = payment_submitted(by=carol, account=acme_eur)
    # when
    page = browser_for(carol).get(f"/payments/{payment.id}").content.decode()
    # then
    assert "a second person must approve or reject it (maker-checker)" in page
    assert f"/payments/{payment.id}/approve" not in page


def test_another_approver_sees_approve_and_reject_but_not_cancel(
    alice, bob, acme_eur, browser_for
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    # when
    page = browser_for(bob).get(f"/payments/{payment.id}").content.decode()
    # then
    assert f"/payments/{payment.id}/approve" in page
    assert f"/payments/{payment.id}/reject" in page
    assert f"/payments/{payment.id}/cancel" not in page
    assert "Only alice, who submitted it, may cancel this payment." in page


def test_a_decided_payment_offers_nothing_and_says_why(
    alice, bob, acme_eur, browser_for
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    # when
    page = browser_for(bob).get(f"/payments/{payment.id}").content.decode()
    # then
    assert "The payment is approved; only a payment awaiting approval can change." in (
        page
    )
    assert f"/payments/{payment.id}/approve" not in page


def test_approving_commits_the_status_and_its_event(alice, bob, acme_eur, browser_for):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    # when
    response = browser_for(bob).post(f"/payments/{payment.id}/approve")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/payments/{payment.id}#flow"
    payment.refresh_from_db()
    assert (payment.status, payment.approved_by) == (PaymentStatus.APPROVED, bob)
    assert OutboxMessage.objects.filter(
        subject=str(payment.id), event_type="PaymentApproved"
    ).exists()


def test_a_forged_approval_by_the_submitter_is_refused_by_the_service(
    carol, acme_eur, browser_for
):
    # given: carol posts the approval the page does not offer her
    payment = payment_submitted(by=carol, account=acme_eur)
    before = written_state()
    browser = browser_for(carol)
    # when
    response = browser.post(f"/payments/{payment.id}/approve", follow=True)
    # then
    assert (
        "You submitted this payment: a second person must approve or reject it "
        "(maker-checker)." in response.content.decode()
    )
    assert written_state() == before


def test_rejecting_needs_a_reason(alice, bob, acme_eur, browser_for):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    browser = browser_for(bob)
    # when
    refused = browser.post(
        f"/payments/{payment.id}/reject", {"reason": " "}, follow=True
    )
    # then
    assert "A rejection needs a reason." in refused.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING_APPROVAL
    # when
    browser.post(f"/payments/{payment.id}/reject", {"reason": "Wrong IBAN"})
    # then
    payment.refresh_from_db()
    assert (payment.status, payment.rejection_reason) == ("rejected", "Wrong IBAN")


def test_the_submitter_cancels_her_payment(alice, acme_eur, browser_for):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    # when
    browser_for(alice).post(f"/payments/{payment.id}/cancel")
    # then
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED


def test_another_organisations_payment_is_not_found(alice, gina, acme_eur, browser_for):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    browser = browser_for(gina)
    before = written_state()
    # when / then
    assert browser.get(f"/payments/{payment.id}").status_code == 404
    assert browser.get(f"/payments/{uuid.uuid4()}").status_code == 404
    assert browser.post(f"/payments/{payment.id}/approve").status_code == 404
    assert browser.get(f"/payments/{payment.id}/flow.json").status_code == 404
    assert written_state() == before


# --- the flow -------------------------------------------------------------------


def test_the_flow_shows_each_event_with_its_hops(alice, bob, acme_eur, browser_for):
    # given: submitted and approved, nothing published yet
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    # when
    flow = browser_for(alice).get(f"/payments/{payment.id}/flow.json").json()
    # then
    assert [e["type"] for e in flow["events"]] == [
        "PaymentSubmitted",
        "PaymentApproved",
    ]
    approved = flow["events"][1]
    assert approved["created_at"] and approved["published_at"] is None
    assert approved["envelope"]["data"]["amount"] == 12550
    partition = approved["partition"]
    assert approved["routing_key"] == f"payments.PaymentApproved.{partition}"
    assert approved["queues"]["ledger"] == f"ledger.p{approved['partition']}"
    assert approved["effects"]["ledger"] == "books a pending journal entry"
    assert flow["events"][0]["effects"]["ledger"].startswith("nothing to do")
    assert flow["pending"] is True
    assert flow["payment"]["status"] == "approved"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("creditor_name", "Acme\nBcc: x@example.org"),
        ("creditor_name", "Acme \u202egnp.exe"),
        ("reference", "INV\u200b-1"),
        ("reference", "INV\x7f-1"),
    ],
)
def test_control_and_invisible_characters_are_refused_beside_their_field(
    alice, acme_eur, browser_for, field, value
):
    # given
    before = written_state()
    # when
    response = browser_for(alice).post(
        "/payments/new", form(acme_eur, **{field: value})
    )
    # then
    page = response.content.decode()
    assert response.status_code == 200
    error_block = page.split(f'id="id_{field}_error"', 1)[1].split("</div>", 1)[0]
    assert "Must not contain" in error_block
    assert written_state() == before


def test_a_hidden_character_in_a_rejection_reason_is_refused_and_said(
    alice, bob, acme_eur, browser_for
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    before = written_state()
    # when
    refused = browser_for(bob).post(
        f"/payments/{payment.id}/reject", {"reason": "No\r\nBcc: x"}, follow=True
    )
    # then
    assert "Must not contain a control character (U+000D" in refused.content.decode()
    assert written_state() == before


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_form_post_over_the_body_limit_is_a_413_and_writes_nothing(
    settings, alice, acme_eur, browser_for, encoding
):
    # given
    settings.MAX_REQUEST_BODY_BYTES = 2048
    data = form(acme_eur, reference="x" * 3000)
    before = written_state()
    # when
    if encoding == "urlencoded":
        response = browser_for(alice).post(
            "/payments/new",
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = browser_for(alice).post("/payments/new", data)
    # then
    assert response.status_code == 413
    assert "at most 2048 bytes" in response.content.decode()
    assert written_state() == before
