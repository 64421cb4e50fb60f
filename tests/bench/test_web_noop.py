"""The web floor: the stack's gunicorn command serving the no-op approve."""

import secrets

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from bench.web_noop import WebStack, floor_service, floor_status, web_floor_running
from launcher.compose import Service, compose_services


def _web() -> Service:
    return next(s for s in compose_services({}) if s.name == "web")


def test_the_floor_runs_the_web_command_on_a_port_of_its_own():
    # given
    web = _web()

    # when
    floor = floor_service(web, 8123)

    # then: only the bind address differs
    at = web.command.index("--bind")
    assert floor.command[at + 1] == "127.0.0.1:8123"
    assert floor.command[:at] + floor.command[at + 2 :] == (
        web.command[:at] + web.command[at + 2 :]
    )
    assert floor.environment == web.environment


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_the_floor_answers_a_token_with_200_and_no_token_with_401(bob, tmp_path):
    # given: bob's token in the test database, which the floor's gunicorn reads
    token = Token.objects.create(user=bob).key
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    overrides = {
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "VAR_DIR": str(tmp_path / "var"),
        "DEMO_MODE": "1",  # plain HTTP, as the bench's stack
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TEST_DB_SUFFIX": None,
        "LOG_FORMAT": "plain",
    }

    # when
    with web_floor_running(WebStack(_web(), overrides, token)) as (_, port):
        with_token = floor_status(port, token)
        without = floor_status(port, None)
        wrong = floor_status(port, "not-a-token")

    # then
    assert (with_token, without, wrong) == (200, 401, 401)
