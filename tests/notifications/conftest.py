"""Give the demo users e-mail addresses, so their notifications are e-mailed."""

import pytest


@pytest.fixture
def with_emails(alice, bob, carol, gina):
    for user in (alice, bob, carol, gina):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
