"""The notifications consumer's Celery app: `celery -A notifications.worker worker`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from events.worker import consumer_app  # noqa: E402 - needs django.setup() first
from notifications.handlers import HANDLERS  # noqa: E402

app = consumer_app("notifications", HANDLERS)
