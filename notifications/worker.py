"""The notifications consumer's Celery app: `celery -A notifications.worker worker`."""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from events.worker import consumer_app  # noqa: E402 - needs django.setup() first
from notifications.handlers import HANDLERS  # noqa: E402
from notifications.sender import email_sender  # noqa: E402

# SMTP must hold up neither an event nor the worker's loop: in this process
# (and its forked children) e-mails go out on a background thread.
email_sender.enable()

# The sweep sends what the after-commit hand-off missed (a crash, a mail server
# error whose backoff has passed). The timer only wakes the sender's thread.
app = consumer_app(
    "notifications",
    HANDLERS,
    periodic=[(settings.NOTIFICATION_EMAIL_SWEEP_SECONDS, email_sender.sweep)],
)
