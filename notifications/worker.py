"""The notifications consumer's Celery app: `celery -A notifications.worker worker`."""

import os
from datetime import timedelta
from functools import partial

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from events.worker import consumer_app  # noqa: E402 - needs django.setup() first
from notifications.handlers import HANDLERS  # noqa: E402
from notifications.services import notification_emails_send_pending  # noqa: E402

# An e-mail is sent after its notification commits; a crash or an outage in
# between leaves it unsent, so the worker itself catches up every half minute.
app = consumer_app(
    "notifications",
    HANDLERS,
    periodic=[
        (
            30.0,
            partial(notification_emails_send_pending, older_than=timedelta(seconds=60)),
        )
    ],
)
