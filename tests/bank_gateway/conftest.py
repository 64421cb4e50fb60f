"""Fixtures for the bank gateway: a private content store and bank inbound folder."""

import pytest

from events.inbox import consume
from events.models import OutboxMessage


@pytest.fixture(autouse=True)
def bank_folders(settings, tmp_path):
    settings.BANK_INBOUND_DIR = tmp_path / "bank-inbound"
    settings.STORAGES = {
        **settings.STORAGES,
        "content": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "content")},
        },
    }
    return tmp_path


def deliver_to(consumer, subject: str) -> list[str]:
    """Deliver the subject's outbox rows to a declared consumer, in order."""
    return [
        consume(
            consumer=consumer.name,
            envelope=row.envelope,
            handlers=consumer.handlers,
            consumes=consumer.consumed_types,
        )
        for row in OutboxMessage.objects.filter(subject=subject).order_by("id")
    ]
