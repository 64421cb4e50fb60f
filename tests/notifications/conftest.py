"""E-mail fixtures: addresses for the demo users, a real SMTP server, the sender."""

import pytest

from notifications.sender import email_sender
from tests.notifications.smtp_server import SmtpServer


@pytest.fixture
def with_emails(alice, bob, carol, gina):
    for user in (alice, bob, carol, gina):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) that Django's SMTP backend sends to.

    EMAIL_TIMEOUT is one second, so a stalling server shows up quickly.
    """
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_TIMEOUT = 1.0
    yield server
    server.stop()


@pytest.fixture
def background_sender():
    """E-mails go out on the sender's thread, as in the notifications worker."""
    email_sender.enable()
    yield email_sender
    email_sender.stop()
