"""GET endpoints: payments (cursor pages, ?status=), one payment, accounts, events."""

import pytest
from django.utils import timezone

from events.models import OutboxMessage
from payments.services import payment_approve, payment_cancel, payment_reject
from tests.assertions import assert_problem
from tests.factories import DebtorAccountFactory, payment_submitted


def _pages(client, url):
    """Follow `next` links; return the list of pages' result ids."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([payment["id"] for payment in body["results"]])
        url = body["next"]
    return pages


def test_the_list_walks_every_payment_newest_first_by_cursor(
    client_for, alice, acme_eur
):
    # given
    submitted = [
        str(payment_submitted(by=alice, account=acme_eur, amount=n).id)
        for n in range(1, 6)
    ]

    # when
    pages = _pages(client_for(alice), "/api/v1/payments?page_size=2")

    # then
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [payment_id for page in pages for payment_id in page] == submitted[::-1]


def test_a_later_page_links_back_to_the_previous_one(client_for, alice, acme_eur):
    # given
    for n in range(1, 4):
        payment_submitted(by=alice, account=acme_eur, amount=n)
    client = client_for(alice)
    first = client.get("/api/v1/payments?page_size=2").json()

    # when
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()

    # then
    assert first["previous"] is None
    assert second["next"] is None
    assert back["results"] == first["results"]


def test_a_new_payment_does_not_shift_the_pages_a_cursor_points_at(
    client_for, alice, acme_eur
):
    # given
    older = [payment_submitted(by=alice, account=acme_eur, amount=n) for n in (1, 2)]
    client = client_for(alice)
    first = client.get("/api/v1/payments?page_size=1").json()
    payment_submitted(by=alice, account=acme_eur, amount=3)

    # when
    second = client.get(first["next"]).json()

    # then
    assert [p["id"] for p in first["results"]] == [str(older[1].id)]
    assert [p["id"] for p in second["results"]] == [str(older[0].id)]


def test_an_invalid_cursor_is_a_problem(client_for, alice):
    # when
    response = client_for(alice).get("/api/v1/payments?cursor=bm9uc2Vuc2U")

    # then: a malformed query parameter, like a malformed ?status=
    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["cursor"]


@pytest.mark.parametrize(
    "status", ["pending_approval", "approved", "rejected", "cancelled"]
)
def test_the_list_filters_by_status(client_for, alice, bob, acme_eur, status):
    # given
    payments = {
        "pending_approval": payment_submitted(by=alice, account=acme_eur),
        "approved": payment_submitted(by=alice, account=acme_eur),
        "rejected": payment_submitted(by=alice, account=acme_eur),
        "cancelled": payment_submitted(by=alice, account=acme_eur),
    }
    payment_approve(payment_id=payments["approved"].id, actor=bob)
    payment_reject(payment_id=payments["rejected"].id, actor=bob, reason="No")
    payment_cancel(payment_id=payments["cancelled"].id, actor=alice)

    # when
    response = client_for(alice).get(f"/api/v1/payments?status={status}")

    # then
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(p["id"], p["status"]) for p in results] == [
        (str(payments[status].id), status)
    ]


@pytest.mark.parametrize("status", ["bogus", "APPROVED", "approved'--"])
def test_an_unknown_status_filter_is_a_400_problem(client_for, alice, status):
    # when
    response = client_for(alice).get("/api/v1/payments", {"status": status})

    # then
    problem = assert_problem(response, 400, "validation-error")
    assert "status" in problem["errors"]


def test_the_detail_shows_one_payment_as_the_list_does(
    client_for, alice, bob, acme_eur
):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    payment_approve(payment_id=payment.id, actor=bob)
    client = client_for(alice)

    # when
    response = client.get(f"/api/v1/payments/{payment.id}")

    # then
    assert response.status_code == 200
    detail = response.json()
    assert detail == client.get("/api/v1/payments").json()["results"][0]
    assert (detail["id"], detail["status"], detail["approved_by"]) == (
        str(payment.id),
        "approved",
        "bob",
    )
    assert detail["version"] == 2


def test_accounts_lists_the_callers_organisation_accounts(
    client_for, alice, acme, acme_eur, globex_eur
):
    # given
    acme_usd = DebtorAccountFactory(organisation=acme, currency="USD", name="Ops USD")

    # when
    response = client_for(alice).get("/api/v1/accounts")

    # then
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": str(account.id),
            "name": account.name,
            "iban": account.iban,
            "currency": account.currency,
        }
        for account in (acme_eur, acme_usd)
    ]


def test_events_show_payment_approved_pending_in_the_outbox(
    client_for, alice, bob, acme_eur
):
    # given
    submitted = (
        client_for(alice)
        .post(
            "/api/v1/payments",
            {
                "debtor_account": str(acme_eur.id),
                "amount": 12550,
                "currency": "EUR",
                "creditor": {"name": "Jane Supplier", "iban": "DE89370400440532013000"},
                "reference": "INV-1",
            },
            format="json",
        )
        .json()
    )
    client_for(bob).post(f"/api/v1/payments/{submitted['id']}/approve")

    # when
    response = client_for(alice).get(f"/api/v1/payments/{submitted['id']}/events")

    # then
    assert response.status_code == 200
    results = response.json()["results"]
    messages = OutboxMessage.objects.order_by("sequence")
    assert [
        (e["id"], e["type"], e["sequence"], e["state"], e["published_at"])
        for e in results
    ] == [
        (str(m.event_id), m.event_type, m.sequence, "pending", None) for m in messages
    ]
    assert [e["type"] for e in results] == ["PaymentSubmitted", "PaymentApproved"]
    approved = results[1]
    assert approved["time"] == messages[1].envelope["time"]
    assert approved["data"] == messages[1].envelope["data"]
    assert approved["data"]["actor"]["username"] == "bob"
    assert approved["partition_key"] == str(acme_eur.id)


def test_events_show_when_an_event_was_published(client_for, alice, acme_eur):
    # given
    payment = payment_submitted(by=alice, account=acme_eur)
    published_at = timezone.now()
    OutboxMessage.objects.update(published_at=published_at)

    # when
    response = client_for(alice).get(f"/api/v1/payments/{payment.id}/events")

    # then
    [event] = response.json()["results"]
    assert event["state"] == "published"
    assert event["published_at"] is not None
