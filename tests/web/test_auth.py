"""Sign-in (where it lands, its throttle), sign-out, and the demo user switch."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from payments.management.commands.seed_demo import seed_demo
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    """Sign-in attempts are counted in the cache: no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


def signed_in_as(client: Client) -> str | None:
    from django.contrib.auth import get_user_model

    user_id = client.session.get(SESSION_KEY)
    if user_id is None:
        return None
    return get_user_model().objects.get(pk=user_id).username


@pytest.fixture
def seeded(settings):
    settings.DEMO_MODE = True
    seed_demo()


def test_pages_ask_an_anonymous_visitor_to_sign_in(client):
    # when
    response = client.get("/payments")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/sign-in?next=/payments"


def test_sign_in_with_a_password_then_sign_out(client, alice):
    # when
    signed = client.post("/sign-in", {"username": "alice", "password": "demo-password"})
    # then
    assert signed.status_code == 302
    assert signed_in_as(client) == "alice"
    # when
    client.post("/sign-out")
    # then
    assert signed_in_as(client) is None


def test_in_demo_mode_the_sign_in_page_lists_the_demo_users(client, demo):
    # when
    page = client.get("/sign-in").content.decode()
    # then
    for username in ("alice", "bob", "carol", "gina"):
        assert f"Sign in as {username}" in page
    assert "demo-password" in page


def test_outside_demo_mode_the_sign_in_page_lists_nobody(client, settings):
    # given
    settings.DEMO_MODE = False
    # when
    page = client.get("/sign-in").content.decode()
    # then
    assert "Sign in as" not in page
    assert "demo-password" not in page


def test_the_switch_signs_in_as_a_demo_user_in_one_post(seeded):
    # given: a presenter acting as alice
    client = Client(enforce_csrf_checks=True)
    client.get("/sign-in")
    token = client.cookies["csrftoken"].value
    # when
    switched = client.post(
        "/demo/switch",
        {"username": "bob", "next": "/ledger", "csrfmiddlewaretoken": token},
    )
    # then
    assert switched.status_code == 302
    assert switched["Location"] == "/ledger"
    assert signed_in_as(client) == "bob"


def test_a_poll_answered_after_the_switch_keeps_the_new_session(seeded):
    # given: a page polling as alice, whose poll left with alice's cookie
    client = Client()
    client.post("/demo/switch", {"username": "alice"})
    alices_cookie = client.cookies["sessionid"].value
    poller = Client()
    poller.cookies["sessionid"] = alices_cookie
    # when: the switch to bob lands first, then the poll is answered
    client.post("/demo/switch", {"username": "bob"})
    poll = poller.get("/payments")
    # then: the late answer does not delete bob's session cookie
    assert "sessionid" not in poll.cookies
    assert signed_in_as(client) == "bob"


def test_signing_out_still_deletes_the_session_cookie(seeded):
    # given
    client = Client()
    client.post("/demo/switch", {"username": "alice"})
    # when
    signed_out = client.post("/sign-out")
    # then
    assert signed_out.cookies["sessionid"]["max-age"] == 0
    assert signed_in_as(client) is None


def test_the_switch_needs_the_csrf_token(seeded):
    # given
    client = Client(enforce_csrf_checks=True)
    # when
    refused = client.post("/demo/switch", {"username": "bob"})
    # then
    assert refused.status_code == 403
    assert signed_in_as(client) is None


def test_outside_demo_mode_the_switch_does_not_exist(seeded, settings, client):
    # given: the demo users exist, but the app no longer runs in demo mode
    settings.DEMO_MODE = False
    # when
    refused = client.post("/demo/switch", {"username": "bob"})
    # then
    assert refused.status_code == 404
    assert signed_in_as(client) is None


@pytest.mark.parametrize("username", ["admin", "olga", "", "BOB"])
def test_the_switch_refuses_anyone_but_the_seeded_demo_users(seeded, client, username):
    # given: an account that exists but is not a demo user
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    UserFactory(username="olga")
    # when
    refused = client.post("/demo/switch", {"username": username})
    # then
    assert refused.status_code == 403
    assert signed_in_as(client) is None


def test_the_switch_refuses_a_demo_account_whose_password_was_changed(seeded, client):
    # given: someone took the name "bob" over with a password of their own
    from django.contrib.auth import get_user_model

    bob = get_user_model().objects.get(username="bob")
    bob.set_password("something-private")
    bob.save()
    # when
    refused = client.post("/demo/switch", {"username": "bob"})
    # then
    assert refused.status_code == 403
    assert signed_in_as(client) is None


def test_the_switch_refuses_a_get_and_an_external_next(seeded, client):
    # when
    assert client.get("/demo/switch?username=bob").status_code == 405
    switched = client.post(
        "/demo/switch", {"username": "bob", "next": "https://evil.example/"}
    )
    # then: signed in, but sent home rather than to another host
    assert signed_in_as(client) == "bob"
    assert switched["Location"] == "/payments"


# --- where a sign-in lands (issue 14) ----------------------------------------------


def test_signing_in_without_next_lands_on_the_payments_page(client, alice):
    # when
    signed = client.post("/sign-in", {"username": "alice", "password": "demo-password"})
    # then
    assert signed.status_code == 302
    assert signed["Location"] == "/payments"
    page = client.get(signed["Location"])
    assert page.status_code == 200
    assert '<strong data-testid="current-user">alice</strong>' in page.content.decode()


def test_signing_in_follows_a_next_on_this_site(client, alice):
    # when
    signed = client.post(
        "/sign-in",
        {"username": "alice", "password": "demo-password", "next": "/ledger"},
    )
    # then
    assert signed["Location"] == "/ledger"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/payments", "http://testserver.evil/"],
)
def test_a_next_off_the_site_is_ignored(client, alice, target):
    # when
    signed = client.post(
        "/sign-in",
        {"username": "alice", "password": "demo-password", "next": target},
    )
    # then: signed in, and sent to the payments, not to another host
    assert signed_in_as(client) == "alice"
    assert signed["Location"] == "/payments"


def test_the_sign_in_page_does_not_carry_an_off_site_next(client):
    # when
    page = client.get("/sign-in?next=https://evil.example/").content.decode()
    # then
    assert "evil.example" not in page


def test_signing_out_then_in_as_someone_else_lands_on_their_payments(
    client, alice, bob
):
    # given
    client.post("/sign-in", {"username": "alice", "password": "demo-password"})
    signed_out = client.post("/sign-out")
    assert signed_out["Location"] == "/sign-in"
    # when
    signed = client.post(
        signed_out["Location"], {"username": "bob", "password": "demo-password"}
    )
    # then
    assert signed["Location"] == "/payments"
    page = client.get("/payments").content.decode()
    assert '<strong data-testid="current-user">bob</strong>' in page


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/profile/",
        "/no-such-page",
        "/payments/00000000-0000-4000-8000-000000000000",
    ],
)
def test_a_not_found_page_shows_no_lesson(alice, browser_for, path):
    # when
    response = browser_for(alice).get(path)
    # then
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Not found</h1>" in html
    assert 'class="lesson"' not in html
    assert "Commands are not events" not in html


# --- throttled sign-in (issue 8, item 7) -------------------------------------------


@pytest.fixture
def two_attempts_per_user(settings):
    settings.AUTH_USER_RATE_LIMIT = "2/min"


def test_a_throttled_sign_in_is_a_429_page_that_signs_nobody_in(
    client, alice, two_attempts_per_user
):
    # given: two wrong guesses
    for n in range(2):
        client.post("/sign-in", {"username": "alice", "password": f"guess-{n}"})
    # when: even the right password, once throttled
    response = client.post(
        "/sign-in", {"username": "alice", "password": "demo-password"}
    )
    # then
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    html = response.content.decode()
    assert "Too many sign-in attempts" in html
    assert "Please enter a correct username" not in html
    assert signed_in_as(client) is None


def test_the_web_form_and_the_token_endpoint_share_one_budget(
    client, alice, two_attempts_per_user
):
    # given: two guesses on the web form
    for n in range(2):
        client.post("/sign-in", {"username": "alice", "password": f"guess-{n}"})
    # when
    response = APIClient().post(
        "/api/v1/auth/token",
        {"username": "alice", "password": "demo-password"},
        format="json",
    )
    # then
    assert response.status_code == 429
    assert not Token.objects.exists()


def test_the_admin_sign_in_counts_against_the_same_budget(
    client, alice, two_attempts_per_user
):
    # given: two guesses at the admin's login
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for n in range(2):
        client.post("/admin/login/", {"username": "root", "password": f"guess-{n}"})
    # when
    response = client.post(
        "/sign-in", {"username": "root", "password": "demo-password"}
    )
    # then
    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_the_address_budget_spans_usernames(client, alice, bob, settings):
    # given
    settings.AUTH_RATE_LIMIT = "2/min"
    for username in ("alice", "bob"):
        client.post("/sign-in", {"username": username, "password": "guess"})
    # when
    response = client.post("/sign-in", {"username": "carol", "password": "guess"})
    # then
    assert response.status_code == 429


# --- demo accounts outside demo mode (issue 8, item 5) -----------------------------


def test_outside_demo_mode_a_demo_user_cannot_sign_in_by_form(seeded, settings, client):
    # given
    settings.DEMO_MODE = False
    # when
    response = client.post("/sign-in", {"username": "bob", "password": "demo-password"})
    # then
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert signed_in_as(client) is None


def test_turning_demo_mode_off_ends_a_demo_users_session(seeded, settings, client):
    # given: bob, switched to while the demo ran, can see the payments
    client.post("/demo/switch", {"username": "bob"})
    assert client.get("/payments").status_code == 200
    # when
    settings.DEMO_MODE = False
    response = client.get("/payments")
    # then: asked to sign in again
    assert response.status_code == 302
    assert response["Location"] == "/sign-in?next=/payments"
