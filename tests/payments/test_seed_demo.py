"""manage.py seed_demo: demo tenants, users and accounts, only in demo mode.

Also the marker it leaves (organisations.demo.is_demo_user).
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from organisations.demo import DEMO_USERNAMES, is_demo_user
from organisations.models import Membership, Organisation
from payments.iban import iban_error
from payments.management.commands.seed_demo import ROLES
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
def test_seed_demo_is_idempotent(settings):
    # given
    settings.DEMO_MODE = True
    _seed()
    first = _everything()

    # when
    output = _seed()

    # then
    assert _everything() == first
    assert output.count("existed: left as it was") == len(DEMO_USERS)


@pytest.mark.django_db
def test_seed_demo_never_resets_a_password_or_membership_on_a_rerun(settings):
    # given: someone took alice over and made her an approver elsewhere
    settings.DEMO_MODE = True
    _seed()
    alice = User.objects.get(username="alice")
    alice.set_password("a-secret-of-her-own")
    alice.save()
    elsewhere = Organisation.objects.create(slug="initech", name="Initech")
    Membership.objects.filter(user=alice).update(
        organisation=elsewhere, is_maker=False, is_approver=True
    )
    renamed = DebtorAccount.objects.filter(organisation__slug="acme").first()
    renamed.name = "Renamed by an operator"
    renamed.save()
    before = _everything()

    # when
    _seed()

    # then
    assert _everything() == before
    alice.refresh_from_db()
    assert alice.check_password("a-secret-of-her-own")
    assert not alice.check_password("demo-password")
    assert (alice.membership.organisation.slug, alice.membership.is_maker) == (
        "initech",
        False,
    )


@pytest.mark.django_db
def test_seed_demo_does_not_take_over_a_real_user_with_a_demo_name(settings):
    # given: a real alice, in no organisation yet
    settings.DEMO_MODE = True
    User.objects.create_user(
        username="alice", email="alice@real.test", password="her-own-password"
    )

    # when
    _seed()

    # then
    alice = User.objects.get(username="alice")
    assert alice.check_password("her-own-password")
    assert not Membership.objects.filter(user=alice).exists()
    assert not is_demo_user(alice)
    assert User.objects.get(username="bob").check_password("demo-password")


@pytest.mark.django_db
def test_the_users_seed_demo_creates_are_exactly_the_demo_users(settings):
    # given
    settings.DEMO_MODE = True

    # when
    _seed()

    # then
    assert set(ROLES) == DEMO_USERNAMES == set(DEMO_USERS)
    seeded = User.objects.filter(username__in=DEMO_USERNAMES)
    assert seeded.count() == len(DEMO_USERNAMES)
    assert all(is_demo_user(user) for user in seeded)


@pytest.mark.django_db
def test_a_user_who_only_shares_a_demo_name_is_not_a_demo_user(alice, outsider):
    # given: the test fixtures' alice (no seed address) and a non-demo name

    # then
    assert not is_demo_user(alice)
    assert not is_demo_user(outsider)
    assert not is_demo_user(AnonymousUser())


@pytest.mark.django_db
def test_an_account_seeded_before_the_marker_existed_is_a_demo_user():
    # given: what the earlier seed_demo made (same name and .example address)
    legacy = User.objects.create_user(
        username="gina", email="Gina@Globex.example", password="demo-password"
    )

    # then
    assert is_demo_user(legacy)


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


@pytest.mark.django_db
def test_a_production_start_names_demo_users_left_by_an_earlier_demo(settings):
    # given: a demo run seeded the users, then the demo was switched off
    settings.DEMO_MODE = True
    _seed()
    settings.DEMO_MODE = False
    out, err = StringIO(), StringIO()

    # when
    call_command("migrate_and_seed", stdout=out, stderr=err)

    # then: nothing seeded or changed, and the operator is told
    assert "alice, bob, carol, gina" in err.getvalue()
    assert "Demo users (password" not in out.getvalue()
    assert User.objects.get(username="bob").check_password("demo-password")


@pytest.mark.django_db
def test_a_production_start_seeds_nothing(settings):
    # given
    settings.DEMO_MODE = False
    err = StringIO()

    # when
    call_command("migrate_and_seed", stdout=StringIO(), stderr=err)

    # then
    assert not User.objects.exists()
    assert not Organisation.objects.exists()
    assert err.getvalue() == ""
