"""Fixtures for the browser demo's views: demo mode and signed-in browsers.

The pages use the session, so these tests drive Django's test client, signed in
with force_login, the way a browser holding a session cookie would.
"""

import pytest
from django.test import Client


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True


@pytest.fixture
def browser_for():
    """Return a test client signed in as the given user."""

    def make(user, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make
