"""Shared fixtures: demo-like tenants and users, API clients, and service gating.

Tests marked `postgres` need PostgreSQL: they skip with a reason on SQLite, and
fail instead when REQUIRE_SERVICES=1 (CI), so a missing service is never green.
"""

import os

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from rest_framework.test import APIClient

from observability.tracing import tracer_provider_use
from tests.factories import (
    DebtorAccountFactory,
    OrganisationFactory,
    UserFactory,
)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip the test for a missing service, or fail it when services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """Hash test passwords with MD5: Django's PBKDF2 costs ~0.25 s per user."""
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def _private_cache():
    """Keep each test process's cache (rate-limit counters) to itself."""
    override = override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    )
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True, scope="session")
def _private_content_store(tmp_path_factory):
    """Keep the files tests store and land out of the checkout's var/."""
    root = tmp_path_factory.mktemp("content")
    with (
        content_store_at(root / "store"),
        override_settings(SETTLEMENT_LANDING_DIR=root / "landing"),
    ):
        yield


def content_store_at(path):
    """Override the settings so the content store keeps its bytes under `path`."""
    storages = {
        **settings.STORAGES,
        "content": {**settings.STORAGES["content"], "OPTIONS": {"location": str(path)}},
    }
    return override_settings(CONTENT_STORE_DIR=path, STORAGES=storages)


@pytest.fixture(autouse=True, scope="session")
def _plain_http():
    """Let the test client speak plain HTTP, as the demo does.

    Tests run outside demo mode, where settings redirect every HTTP request to
    HTTPS; only the redirect is switched off, so the cookies stay `Secure` and
    tests/config/test_production_settings.py checks the real defaults.
    """
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def _postgres_gate(request):
    if (
        request.node.get_closest_marker("postgres")
        and connection.vendor != "postgresql"
    ):
        service_missing(
            "needs PostgreSQL: run with DATABASE_URL=postgres://... (the test "
            "command does when PostgreSQL is reachable)"
        )


@pytest.fixture
def acme(db):
    return OrganisationFactory(slug="acme", name="Acme Ltd")


@pytest.fixture
def globex(db):
    return OrganisationFactory(slug="globex", name="Globex Corporation")


@pytest.fixture
def alice(acme):
    return UserFactory(username="alice", organisation=acme, is_maker=True)


@pytest.fixture
def bob(acme):
    return UserFactory(username="bob", organisation=acme, is_approver=True)


@pytest.fixture
def carol(acme):
    return UserFactory(
        username="carol", organisation=acme, is_maker=True, is_approver=True
    )


@pytest.fixture
def gina(globex):
    return UserFactory(
        username="gina", organisation=globex, is_maker=True, is_approver=True
    )


@pytest.fixture
def outsider(db):
    """A user who belongs to no organisation."""
    return UserFactory(username="olga")


@pytest.fixture
def acme_eur(acme):
    return DebtorAccountFactory(organisation=acme, currency="EUR")


@pytest.fixture
def globex_eur(globex):
    return DebtorAccountFactory(organisation=globex, currency="EUR")


@pytest.fixture
def client_for():
    """Return an API client authenticated by token as the given user."""

    def make(user) -> APIClient:
        from rest_framework.authtoken.models import Token

        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def spans():
    """Turn tracing on for this test; read the finished spans from the exporter.

    Build a consumer app after this fixture: it decides at build time whether
    its applies are traced.
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer_provider_use(provider)
    yield exporter
    tracer_provider_use(None)
    provider.shutdown()
