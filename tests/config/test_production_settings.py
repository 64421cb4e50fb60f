"""Outside demo mode a published or empty key is refused at start.

Each test starts a fresh process with the environment a deploy would give it
(tests/config/settings_process.py); see docs/operations.md#production-settings.
"""

import pytest

from stack.compose import compose_services
from stack.runner import service_env
from tests.config.settings_process import manage, process_env


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
