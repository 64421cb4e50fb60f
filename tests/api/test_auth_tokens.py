"""Tokens expire, and demo accounts get none (nor use one) outside demo mode."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from organisations.demo import DEMO_USERNAMES
from payments.management.commands.seed_demo import ORGANISATIONS, seed_demo
from payments.models import DebtorAccount, Payment
from tests.assertions import assert_problem, written_state
from tests.factories import UserFactory, payment_request_body

TOKEN = "/api/v1/auth/token"
PASSWORD = "demo-password"  # the factories' and the demo seed's password

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle history lives in the cache: start and end each test without any."""
    cache.clear()
    yield
    cache.clear()


def _token_for(username: str, password: str = PASSWORD):
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json"
    )


def _api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _age(key: str, hours: float) -> None:
    Token.objects.filter(key=key).update(
        created=timezone.now() - timedelta(hours=hours)
    )


# --- expiry ------------------------------------------------------------------------


def test_a_token_says_when_it_expires_by_default_a_day_after_issue(alice):
    # when
    response = _token_for("alice")

    # then
    token = Token.objects.get(user=alice)
    assert response.json()["token"] == token.key
    expires_at = response.json()["expires_at"]
    assert expires_at == (token.created + timedelta(hours=24)).isoformat().replace(
        "+00:00", "Z"
    )


def test_an_expired_token_is_a_401_problem_saying_so_and_writes_nothing(
    alice, acme_eur
):
    # given: alice's token, issued 25 hours ago
    key = _token_for("alice").json()["token"]
    _age(key, 25)
    before = written_state()

    # when
    read = _api(key).get("/api/v1/payments")
    write = _api(key).post(
        "/api/v1/payments", payment_request_body(acme_eur), format="json"
    )

    # then
    problem = assert_problem(read, 401, "token-expired")
    assert problem["title"] == "The token has expired"
    assert "expired at" in problem["detail"]
    assert "POST /api/v1/auth/token" in problem["detail"]
    assert read["WWW-Authenticate"] == "Token"
    assert_problem(write, 401, "token-expired")
    assert written_state() == before
    assert not Payment.objects.exists()


def test_a_token_just_inside_its_lifetime_still_works(alice):
    # given
    key = _token_for("alice").json()["token"]
    _age(key, 23.9)

    # when
    response = _api(key).get("/api/v1/payments")

    # then
    assert response.status_code == 200


def test_after_expiry_the_endpoint_issues_a_fresh_token_and_the_old_stays_dead(alice):
    # given
    old = _token_for("alice").json()["token"]
    _age(old, 25)

    # when
    response = _token_for("alice")

    # then
    new = response.json()["token"]
    assert new != old
    assert list(Token.objects.values_list("key", flat=True)) == [new]
    assert _api(new).get("/api/v1/payments").status_code == 200
    assert_problem(_api(old).get("/api/v1/payments"), 401, "authentication-failed")


def test_the_lifetime_is_configurable(alice, settings):
    # given
    settings.API_TOKEN_TTL_HOURS = 1
    key = _token_for("alice").json()["token"]
    _age(key, 1.5)

    # when
    response = _api(key).get("/api/v1/payments")

    # then
    assert_problem(response, 401, "token-expired")


def test_the_token_expired_problem_type_is_documented(client):
    # when
    response = client.get("/api/v1/problems/token-expired")

    # then
    assert response.status_code == 200
    assert response.json()["title"] == "The token has expired"


# --- demo accounts outside demo mode ------------------------------------------------


@pytest.fixture
def seeded(settings):
    """The demo users, seeded in demo mode; the test decides whether it stays on."""
    settings.DEMO_MODE = True
    seed_demo()


def test_the_demo_usernames_are_those_the_seed_creates():
    seeded_names = {
        username for spec in ORGANISATIONS.values() for username in spec["users"]
    }
    assert seeded_names == DEMO_USERNAMES


@pytest.mark.parametrize("username", sorted(DEMO_USERNAMES))
def test_outside_demo_mode_a_demo_user_gets_no_token(seeded, settings, username):
    # given
    settings.DEMO_MODE = False

    # when
    response = _token_for(username)

    # then
    assert_problem(response, 400, "invalid-credentials")
    assert not Token.objects.exists()


def test_in_demo_mode_a_demo_user_gets_a_token(seeded):
    # when
    response = _token_for("alice")

    # then
    assert response.status_code == 200
    assert _api(response.json()["token"]).get("/api/v1/payments").status_code == 200


def test_outside_demo_mode_a_demo_users_existing_token_is_refused(seeded, settings):
    # given: alice got a token while the demo ran
    key = _token_for("alice").json()["token"]
    account = DebtorAccount.objects.get(organisation__slug="acme", currency="EUR")
    settings.DEMO_MODE = False
    before = written_state()

    # when
    read = _api(key).get("/api/v1/payments")
    write = _api(key).post(
        "/api/v1/payments", payment_request_body(account), format="json"
    )

    # then
    problem = assert_problem(read, 401, "authentication-failed")
    assert "demo mode" in problem["detail"]
    assert_problem(write, 401, "authentication-failed")
    assert written_state() == before


def test_outside_demo_mode_a_real_user_of_a_demo_name_signs_in(settings, acme):
    # given: a real "alice", not made by the seed (no marker, her own address)
    UserFactory(username="alice", email="alice@acme.com", organisation=acme)
    settings.DEMO_MODE = False

    # when
    response = _token_for("alice")

    # then
    assert response.status_code == 200
    assert _api(response.json()["token"]).get("/api/v1/payments").status_code == 200
