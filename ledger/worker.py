"""The ledger consumer's Celery app: `celery -A ledger.worker worker`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from events.worker import consumer_app  # noqa: E402 - needs django.setup() first
from ledger.handlers import HANDLERS  # noqa: E402

app = consumer_app("ledger", HANDLERS)
