"""A notifications worker's own database and a payment's two events waiting
for it on the filesystem broker: what the worker and mailer process tests
start from."""

import uuid
from types import SimpleNamespace

from events.publishers import KombuPublisher
from events.topology import partition_of, partition_queue_name
from tests.events.test_worker_process import (
    User,
    outgoing_message,
    rows,
    script_output,
)
from tests.events_builders import payment_event

SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from organisations.models import Membership, Organisation
acme = Organisation.objects.create(slug="acme", name="Acme Ltd")
for name, approver in (("alice", False), ("bob", True), ("carol", True)):
    user = get_user_model().objects.create(
        username=name, email=f"{name}@example.com"
    )
    Membership.objects.create(
        user=user, organisation=acme, is_maker=True, is_approver=approver
    )
    print(name, user.pk)
print("acme", acme.pk)
"""


def database_prepare(env: dict) -> dict[str, str]:
    """Migrate, create acme with alice (maker), bob and carol (approvers);
    return their ids by name."""
    return dict(line.split() for line in script_output(env, SETUP))


def smtp_env(env: dict, smtp_server, **extra: str) -> dict:
    """The process's environment, sending to `smtp_server` with 1 s timeouts."""
    return {
        **env,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
        "EMAIL_TIMEOUT": "1",
        "NOTIFICATION_EMAIL_RETRY_SECONDS": "0.5",
        **extra,
    }


def payment_published(ids: dict[str, str], broker) -> tuple[dict, dict]:
    """Publish a payment of alice's submitted, then approved by bob; return the
    two envelopes, both waiting in the notifications queue of its partition."""
    alice = User(pk=int(ids["alice"]), username="alice")
    bob = User(pk=int(ids["bob"]), username="bob")
    payment_id, account_id = uuid.uuid4(), uuid.uuid4()
    submitted, approved = (
        payment_event(
            event_type,
            organisation=SimpleNamespace(pk=ids["acme"]),
            submitted_by=alice,
            actor=bob,
            payment_id=payment_id,
            debtor_account_id=account_id,
        ).envelope
        for event_type in ("PaymentSubmitted", "PaymentApproved")
    )
    publisher = KombuPublisher("filesystem://")
    assert publisher.publish_batch(
        [outgoing_message(e) for e in (submitted, approved)]
    ) == [None, None]
    publisher.close()
    queue = partition_queue_name("notifications", partition_of(str(account_id)))
    assert broker.waiting()[queue] == 2
    return submitted, approved


def applied(db) -> int:
    """The events the notifications consumer has applied."""
    return len(
        rows(
            db,
            "SELECT event_id FROM events_inboxentry "
            "WHERE consumer = 'notifications' AND status = 'applied'",
        )
    )


def expected_emails(ids: dict[str, str], submitted: dict, approved: dict) -> list:
    """(recipient, Message-ID) of each e-mail the payment's two events send."""
    return [
        ("alice@example.com", f"<{approved['id']}.{ids['alice']}@example.com>"),
        ("bob@example.com", f"<{submitted['id']}.{ids['bob']}@example.com>"),
        ("carol@example.com", f"<{submitted['id']}.{ids['carol']}@example.com>"),
    ]
