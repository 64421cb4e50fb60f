"""Tokens, sessions with CSRF, and the rate limits on guessing and on writes."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from payments.models import Payment
from tests.assertions import assert_problem, written_state
from tests.factories import UserFactory, payment_request_body

TOKEN = "/api/v1/auth/token"
PASSWORD = "demo-password"  # the factories' password


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle history lives in the cache: start and end each test without any."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anonymous():
    return APIClient()


def _login(client, username="alice", password=PASSWORD, **extra):
    return client.post(
        TOKEN, {"username": username, "password": password}, format="json", **extra
    )


def test_the_token_endpoint_trades_a_password_for_a_working_token(anonymous, alice):
    # when
    response = _login(anonymous)

    # then
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=alice).key == token
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/payments").status_code == 200


def test_asking_twice_gives_the_same_token(anonymous, alice):
    # when
    first, second = _login(anonymous), _login(anonymous)

    # then
    assert first.json()["token"] == second.json()["token"]
    assert Token.objects.count() == 1


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong-password"), ("nobody", "demo-password"), ("ALICE", "x")],
)
def test_wrong_credentials_are_one_400_problem_that_reveals_nothing(
    anonymous, alice, username, password
):
    # when
    response = _login(anonymous, username, password)

    # then
    problem = assert_problem(response, 400, "invalid-credentials")
    assert problem["detail"] == "Check the username and password."
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token(anonymous, acme):
    # given
    UserFactory(username="ivan", organisation=acme, is_maker=True, is_active=False)

    # when
    response = _login(anonymous, "ivan")

    # then
    assert_problem(response, 400, "invalid-credentials")
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"username": "alice"}, {"password": "demo-password"}, []]
)
def test_missing_credentials_are_a_400_problem(anonymous, alice, body):
    # when
    response = anonymous.post(TOKEN, body, format="json")

    # then
    assert_problem(response, 400, "validation-error")
    assert not Token.objects.exists()


def test_password_guessing_is_throttled_with_429_and_retry_after(
    anonymous, alice, settings
):
    # given
    settings.AUTH_RATE_LIMIT = "2/min"
    guesses = [_login(anonymous, password=f"guess-{n}") for n in range(2)]

    # when
    response = _login(anonymous)  # even the right password, once throttled

    # then
    assert [guess.status_code for guess in guesses] == [400, 400]
    assert_problem(response, 429, "rate-limited")
    assert 0 < int(response["Retry-After"]) <= 60
    assert not Token.objects.exists()


def test_the_token_endpoint_is_throttled_by_default(anonymous, alice, settings):
    # given
    allowed, _ = settings.AUTH_RATE_LIMIT.split("/")
    answers = [
        _login(anonymous, password="guess").status_code for _ in range(int(allowed))
    ]

    # when
    response = _login(anonymous, password="guess")

    # then
    assert set(answers) == {400}
    assert_problem(response, 429, "rate-limited")


def test_the_throttle_counts_per_client_address(anonymous, alice, settings):
    # given
    settings.AUTH_RATE_LIMIT = "2/min"
    for _ in range(2):
        _login(anonymous, password="guess", REMOTE_ADDR="10.0.0.1")

    # when
    other = _login(anonymous, REMOTE_ADDR="10.0.0.2")

    # then
    assert other.status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(
    anonymous, alice, settings
):
    # given
    settings.AUTH_RATE_LIMIT = "2/min"
    for n in range(2):
        _login(anonymous, password="guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    # when
    response = _login(anonymous, HTTP_X_FORWARDED_FOR="203.0.113.99")

    # then
    assert_problem(response, 429, "rate-limited")
    assert not Token.objects.exists()


def test_guessing_one_username_from_many_addresses_is_throttled(
    anonymous, alice, bob, settings
):
    # given: each guess from another address, all at alice
    settings.AUTH_USER_RATE_LIMIT = "2/min"
    for n in range(2):
        _login(anonymous, password="guess", REMOTE_ADDR=f"198.51.100.{n}")

    # when
    response = _login(anonymous, REMOTE_ADDR="198.51.100.9")
    other_user = _login(anonymous, "bob", REMOTE_ADDR="198.51.100.9")

    # then: alice is throttled from every address, bob is not
    problem = assert_problem(response, 429, "rate-limited")
    assert "sign-in attempts" in problem["detail"]
    assert 0 < int(response["Retry-After"]) <= 60
    assert other_user.status_code == 200
    assert list(Token.objects.values_list("user__username", flat=True)) == ["bob"]


def test_a_budget_of_zero_refuses_every_sign_in(anonymous, alice, settings):
    # given
    settings.AUTH_USER_RATE_LIMIT = "0/min"

    # when
    response = _login(anonymous)

    # then
    assert_problem(response, 429, "rate-limited")
    assert int(response["Retry-After"]) == 60
    assert not Token.objects.exists()


@pytest.fixture
def behind_a_proxy(settings):
    """The app behind a load balancer in 10.0.0.0/8 that appends X-Forwarded-For."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.AUTH_RATE_LIMIT = "2/min"

    def via_proxy(forwarded_for: str) -> dict:
        return {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": forwarded_for}

    return via_proxy


def test_behind_a_trusted_proxy_each_client_address_has_its_own_budget(
    anonymous, alice, bob, behind_a_proxy
):
    # given: one client at 203.0.113.5 spends its budget, through the proxy
    for username in ("alice", "bob"):
        _login(anonymous, username, "guess", **behind_a_proxy("203.0.113.5"))

    # when
    same_client = _login(anonymous, **behind_a_proxy("203.0.113.5"))
    other_client = _login(anonymous, **behind_a_proxy("203.0.113.6"))

    # then
    assert_problem(same_client, 429, "rate-limited")
    assert other_client.status_code == 200


def test_behind_a_trusted_proxy_the_client_cannot_name_its_own_address(
    anonymous, alice, bob, behind_a_proxy
):
    # given: a client writes a new X-Forwarded-For each time, and the proxy
    # appends the address it really came from
    for n, username in enumerate(("alice", "bob")):
        _login(
            anonymous, username, "guess", **behind_a_proxy(f"192.0.2.{n}, 203.0.113.5")
        )

    # when
    response = _login(anonymous, **behind_a_proxy("192.0.2.99, 203.0.113.5"))

    # then: every guess counted against 203.0.113.5
    assert_problem(response, 429, "rate-limited")
    assert not Token.objects.exists()


def test_a_chain_of_trusted_proxies_is_read_from_the_right(
    anonymous, alice, bob, behind_a_proxy
):
    # given: guesses from 203.0.113.5, straight to the front proxy and through
    # an inner one (10.9.9.9, also trusted)
    _login(anonymous, "alice", "guess", **behind_a_proxy("203.0.113.5"))
    _login(anonymous, "bob", "guess", **behind_a_proxy("203.0.113.5, 10.9.9.9"))

    # when
    response = _login(anonymous, **behind_a_proxy("192.0.2.1, 203.0.113.5, 10.9.9.9"))

    # then
    assert_problem(response, 429, "rate-limited")


def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(
    anonymous, alice, bob, behind_a_proxy
):
    # given: a client that reaches the app directly, not through the proxy
    for n, username in enumerate(("alice", "bob")):
        _login(
            anonymous,
            username,
            "guess",
            REMOTE_ADDR="203.0.113.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )

    # when
    response = _login(
        anonymous, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.99"
    )

    # then
    assert_problem(response, 429, "rate-limited")
    assert not Token.objects.exists()


# --- session authentication, for the browser ---------------------------------------


@pytest.fixture
def browser(alice):
    """A logged-in browser session that enforces CSRF like a real one."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_a_session_reads_without_a_csrf_token(browser, acme_eur):
    # when
    response = browser.get("/api/v1/accounts")

    # then
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [str(acme_eur.id)]


def test_a_session_write_without_a_csrf_token_is_403(browser, acme_eur):
    # given
    before = written_state()

    # when
    response = browser.post(
        "/api/v1/payments", payment_request_body(acme_eur), format="json"
    )

    # then
    problem = assert_problem(response, 403, "forbidden")
    assert "CSRF" in problem["detail"]
    assert written_state() == before


def test_a_session_write_with_the_csrf_token_is_accepted(browser, alice, acme_eur):
    # given: the docs page hands the browser its CSRF cookie
    browser.get("/api/v1/docs")
    csrf_token = browser.cookies["csrftoken"].value

    # when
    response = browser.post(
        "/api/v1/payments",
        payment_request_body(acme_eur),
        format="json",
        HTTP_X_CSRFTOKEN=csrf_token,
    )

    # then
    assert response.status_code == 201, response.content
    assert Payment.objects.get().submitted_by == alice


def test_a_session_write_with_a_wrong_csrf_token_is_403(browser, acme_eur):
    # given
    browser.get("/api/v1/docs")

    # when
    response = browser.post(
        "/api/v1/payments",
        payment_request_body(acme_eur),
        format="json",
        HTTP_X_CSRFTOKEN="x" * 32,
    )

    # then
    assert_problem(response, 403, "forbidden")
    assert not Payment.objects.exists()


# --- per-user write limit ----------------------------------------------------------


def test_writes_are_not_limited_by_default(client_for, alice, acme_eur):
    # given
    client = client_for(alice)
    body = payment_request_body(acme_eur)

    # when
    answers = [
        client.post("/api/v1/payments", body, format="json").status_code
        for _ in range(5)
    ]

    # then
    assert answers == [201] * 5
    assert Payment.objects.count() == 5


def test_a_write_limit_refuses_the_writes_beyond_it_with_429(
    settings, client_for, alice, carol, acme_eur
):
    # given
    settings.WRITE_RATE_LIMIT = "2/min"
    client = client_for(alice)
    body = payment_request_body(acme_eur)
    first_two = [
        client.post("/api/v1/payments", body, format="json").status_code
        for _ in range(2)
    ]
    before = written_state()

    # when
    response = client.post("/api/v1/payments", body, format="json")

    # then
    assert first_two == [201, 201]
    assert_problem(response, 429, "rate-limited")
    assert int(response["Retry-After"]) > 0
    assert written_state() == before
    # Reads stay open, and the limit is per user.
    assert client.get("/api/v1/payments").status_code == 200
    other = client_for(carol).post("/api/v1/payments", body, format="json")
    assert other.status_code == 201
