"""manage.py seed_demo: demo tenants, users and accounts, only in demo mode."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from organisations.models import Membership, Organisation
from payments.iban import iban_error
from payments.models import DebtorAccount

User = get_user_model()

# username: (organisation, is_maker, is_approver), as the issue lists them
DEMO_USERS = {
    "alice": ("acme", True, False),
    "bob": ("acme", False, True),
    "carol": ("acme", True, True),
    "gina": ("globex", True, True),
}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _everything() -> dict:
    return {
        "organisations": list(Organisation.objects.order_by("slug").values()),
        "users": list(User.objects.order_by("username").values("id", "username")),
        "memberships": list(Membership.objects.order_by("user_id").values()),
        "accounts": list(DebtorAccount.objects.order_by("iban").values()),
    }


@pytest.mark.django_db
def test_seed_demo_refuses_without_demo_mode(settings):
    # given
    settings.DEMO_MODE = False

    # when
    with pytest.raises(CommandError, match="DEMO_MODE"):
        _seed()

    # then
    assert not User.objects.exists()
    assert not Organisation.objects.exists()
    assert not DebtorAccount.objects.exists()


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_users_with_their_roles(settings):
    # given
    settings.DEMO_MODE = True

    # when
    _seed()

    # then
    assert set(Organisation.objects.values_list("slug", flat=True)) == {
        "acme",
        "globex",
    }
    for username, (slug, is_maker, is_approver) in DEMO_USERS.items():
        user = User.objects.get(username=username)
        assert user.check_password("demo-password")
        membership = user.membership
        assert membership.organisation.slug == slug
        assert (membership.is_maker, membership.is_approver) == (
            is_maker,
            is_approver,
        )


@pytest.mark.django_db
def test_seed_demo_gives_each_organisation_a_eur_and_a_usd_account(settings):
    # given
    settings.DEMO_MODE = True

    # when
    _seed()

    # then
    for slug in ("acme", "globex"):
        accounts = DebtorAccount.objects.filter(organisation__slug=slug)
        assert sorted(accounts.values_list("currency", flat=True)) == ["EUR", "USD"]
        assert all(iban_error(account.iban) is None for account in accounts)


@pytest.mark.django_db
def test_seed_demo_prints_the_credentials(settings):
    # given
    settings.DEMO_MODE = True

    # when
    output = _seed()

    # then
    assert "demo-password" in output
    for username in DEMO_USERS:
        assert username in output


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_restores_a_changed_password(settings):
    # given
    settings.DEMO_MODE = True
    _seed()
    first = _everything()
    alice = User.objects.get(username="alice")
    alice.set_password("changed")
    alice.save()

    # when
    _seed()

    # then
    assert _everything() == first
    alice.refresh_from_db()
    assert alice.check_password("demo-password")


@pytest.mark.django_db
def test_the_demo_users_can_log_in_and_work_through_the_api(settings):
    # given
    cache.clear()  # no token-endpoint throttle history from earlier tests
    settings.DEMO_MODE = True
    _seed()
    tokens = {
        name: APIClient()
        .post(
            "/api/v1/auth/token",
            {"username": name, "password": "demo-password"},
            format="json",
        )
        .json()["token"]
        for name in ("alice", "bob")
    }
    account = DebtorAccount.objects.get(organisation__slug="acme", currency="EUR")
    alice, bob = APIClient(), APIClient()
    alice.credentials(HTTP_AUTHORIZATION=f"Token {tokens['alice']}")
    bob.credentials(HTTP_AUTHORIZATION=f"Token {tokens['bob']}")

    # when
    submitted = alice.post(
        "/api/v1/payments",
        {
            "debtor_account": str(account.id),
            "amount": 12550,
            "currency": "EUR",
            "creditor": {"name": "Jane Supplier", "iban": "DE89370400440532013000"},
        },
        format="json",
    ).json()
    approved = bob.post(f"/api/v1/payments/{submitted['id']}/approve")
    events = alice.get(f"/api/v1/payments/{submitted['id']}/events").json()

    # then
    assert approved.status_code == 200
    assert [(e["type"], e["state"]) for e in events["results"]] == [
        ("PaymentSubmitted", "pending"),
        ("PaymentApproved", "pending"),
    ]
