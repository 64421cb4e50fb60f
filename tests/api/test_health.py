"""The probes: /healthz says the process answers; /readyz checks what it needs."""

import pytest
from django.core.management import call_command
from django.test import Client

from tests.events.conftest import broker  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_healthz_answers_anyone_without_touching_anything(django_assert_num_queries):
    # when
    with django_assert_num_queries(0):
        response = Client().get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_ready_when_database_migrations_and_broker_are(broker):  # noqa: F811
    # when
    response = Client().get("/readyz")

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


def test_readyz_is_a_503_naming_a_broker_it_cannot_reach(settings):
    # given: nothing listens on port 1
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    # when
    response = Client().get("/readyz")

    # then: which check failed, and nothing of where the broker is
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unreachable (")
    assert "127.0.0.1" not in response.content.decode()
    assert "guest" not in response.content.decode()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_probe_refuses_a_write(path):
    # when
    response = Client().post(path)

    # then
    assert response.status_code == 405


@pytest.mark.django_db(transaction=True)
def test_readyz_is_a_503_while_a_migration_is_not_applied(broker):  # noqa: F811
    # given: the newest settlement migration (two indexes) rolled back
    call_command("migrate", "settlement", "0005", verbosity=0)
    try:
        # when
        response = Client().get("/readyz")
    finally:
        call_command("migrate", "settlement", verbosity=0)

    # then
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"
    assert Client().get("/readyz").status_code == 200
