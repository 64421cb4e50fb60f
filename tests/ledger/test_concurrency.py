"""Two workers opening the same ledger account at once: one opens it, both post."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from ledger.handlers import on_payment_approved
from ledger.models import Account, JournalEntry
from ledger.selectors import account_list
from tests.events_builders import payment_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_first_payments_share_one_in_transit_account(acme, alice, bob):
    # given: two payments of one organisation from one debtor account, whose
    # accounts do not exist yet; they sit in different partitions' workers
    debtor_account_id = uuid.uuid4()
    events = [
        payment_event(
            "PaymentApproved",
            organisation=acme,
            submitted_by=alice,
            actor=bob,
            debtor_account_id=debtor_account_id,
            amount=amount,
            version=2,
        )
        for amount in (100, 200)
    ]
    first_inserted = threading.Event()
    errors = []

    def worker(event, hold: bool):
        try:
            with transaction.atomic():
                on_payment_approved(event)
                if hold:
                    # Keep the new accounts uncommitted while the other worker
                    # tries to open them: its insert waits, fails, re-reads.
                    first_inserted.set()
                    threading.Event().wait(0.5)
        except Exception as exc:
            errors.append(exc)
        finally:
            first_inserted.set()
            connection.close()

    # when
    holder = threading.Thread(target=worker, args=(events[0], True))
    holder.start()
    first_inserted.wait(5)
    racer = threading.Thread(target=worker, args=(events[1], False))
    racer.start()
    holder.join(10)
    racer.join(10)

    # then
    assert errors == []
    assert JournalEntry.objects.count() == 2
    assert Account.objects.filter(organisation=acme).count() == 2
    assert sorted(a.balance for a in account_list(organisation_id=acme.pk)) == [
        -300,
        300,
    ]
