"""Outside demo mode: a published key is refused and `check --deploy` is clean.

Each test starts a fresh process with the environment a deploy would give it
(tests/config/settings_process.py); see docs/operations.md#production-settings.
"""

import secrets

import pytest

from launcher.compose import compose_services
from launcher.runner import service_env
from tests.config.settings_process import manage, process_env, settings_in

HTTPS_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
)


def _strong_key() -> str:
    return secrets.token_urlsafe(50)


def test_check_deploy_reports_nothing_outside_demo_mode(tmp_path):
    # given: production, with nothing set but a real key
    env = process_env(tmp_path, DJANGO_SECRET_KEY=_strong_key())

    # when
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    # then
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNINGS" not in done.stderr


def test_production_defaults_expect_https(tmp_path):
    # given
    env = process_env(tmp_path, DJANGO_SECRET_KEY=_strong_key())

    # when
    seen = settings_in(env, *HTTPS_SETTINGS)

    # then
    assert seen == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": None,  # no header is trusted until one is named
    }


def test_the_demo_keeps_plain_http_and_the_published_key(tmp_path):
    # given: the demo's environment as docker-compose.yml gives it
    env = process_env(
        tmp_path,
        DEMO_MODE="1",
        DJANGO_SECRET_KEY="change-me-outside-a-demo",
        SECURE_SSL_REDIRECT="",  # compose passes unset variables through empty
    )

    # when
    seen = settings_in(env, "SECRET_KEY", *HTTPS_SETTINGS)

    # then
    assert seen == {
        "SECRET_KEY": "change-me-outside-a-demo",
        "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_each_https_setting_follows_its_variable(tmp_path):
    # given: an operator behind a proxy that sets X-Forwarded-Proto, trying
    # HSTS for an hour first, without preload
    env = process_env(
        tmp_path,
        DJANGO_SECRET_KEY=_strong_key(),
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_PRELOAD="0",
        SESSION_COOKIE_SECURE="off",
    )

    # when
    seen = settings_in(env, *HTTPS_SETTINGS)

    # then
    assert seen["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert seen["SECURE_HSTS_SECONDS"] == 3600
    assert seen["SECURE_HSTS_PRELOAD"] is False
    assert seen["SESSION_COOKIE_SECURE"] is False
    assert seen["SECURE_SSL_REDIRECT"] is True


def test_a_proxy_header_may_name_its_value(tmp_path):
    # given
    env = process_env(
        tmp_path,
        DJANGO_SECRET_KEY=_strong_key(),
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl=on",
    )

    # when
    seen = settings_in(env, "SECURE_PROXY_SSL_HEADER")

    # then
    assert seen["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_SSL", "on"]


@pytest.mark.parametrize("key", ["change-me-outside-a-demo", "", "   "])
def test_startup_refuses_a_published_or_empty_key_outside_demo_mode(tmp_path, key):
    # given
    env = process_env(tmp_path, DJANGO_SECRET_KEY=key)

    # when
    done = manage(env, "check")

    # then
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "set DJANGO_SECRET_KEY" in done.stderr
    assert "DEMO_MODE=1" in done.stderr


def test_the_compose_stack_refuses_to_start_until_a_key_is_set(tmp_path):
    # given: docker-compose.yml's own environment, with nothing set by the caller
    migrate = next(s for s in compose_services({}) if s.name == "migrate")
    env = service_env(migrate, process_env(tmp_path))

    # when
    done = manage(env, "check")

    # then
    assert migrate.environment["DEMO_MODE"] == "0"
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr


def test_the_compose_demo_is_an_opt_in_that_starts_with_the_embedded_key(tmp_path):
    # given: the caller opts in, as `DEMO_MODE=1 docker compose up` does
    migrate = next(s for s in compose_services({"DEMO_MODE": "1"}))
    env = service_env(migrate, process_env(tmp_path))

    # when
    done = manage(env, "check")

    # then
    assert migrate.environment["DEMO_MODE"] == "1"
    assert done.returncode == 0, done.stderr
