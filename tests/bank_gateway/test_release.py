"""The bank gateway: approved payments leave at the cut-off in a pain.001 per account.

A fourth consumer of PaymentApproved: its file is valid against the official
pain.001.001.09 XSD, stored by content, transmitted to the bank's inbound
folder, and each payment in it gets a PaymentReleased through the outbox.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bank_gateway.consumer import CONSUMER
from bank_gateway.models import PaymentFile, Release, ReleaseStatus
from bank_gateway.release import releases_collect
from bank_gateway.transmission import inbound_path
from content_store import content_read
from events.inbox import consume
from events.models import OutboxMessage
from iso20022.pain001 import credit_transfer_read
from iso20022.schemas import schema_errors
from payments.services import payment_approve
from tests.bank_gateway.conftest import deliver_to
from tests.events_builders import payment_event
from tests.factories import DebtorAccountFactory, payment_submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def v2(settings):
    settings.EVENT_VERSIONS = {"PaymentApproved": 2}


def approved(alice, bob, account, **fields):
    payment = payment_submitted(by=alice, account=account, **fields)
    payment_approve(payment_id=payment.id, actor=bob)
    assert deliver_to(CONSUMER, str(payment.id)) == ["applied", "applied"]
    return payment


def test_the_cut_off_releases_an_accounts_payments_in_one_valid_file(
    settings, v2, alice, bob, acme, acme_eur
):
    # given: two approved payments of one account, one of another
    first = approved(alice, bob, acme_eur, amount=12550, reference="INV-1")
    second = approved(alice, bob, acme_eur, amount=990, reference="INV-2")
    other_account = DebtorAccountFactory(organisation=acme, currency="EUR")
    third = approved(alice, bob, other_account, amount=5000)

    # when
    files = releases_collect()

    # then: one file per account, valid against the official XSD
    assert len(files) == 2
    payment_file = PaymentFile.objects.get(debtor_account_id=acme_eur.id)
    data = content_read(payment_file.sha256)
    assert schema_errors(data, "pain.001.001.09") == []
    read = credit_transfer_read(data)
    assert read.message_id == payment_file.message_id
    assert read.debtor.iban == acme_eur.iban
    assert [(t.end_to_end_id, t.amount, t.remittance) for t in read.transfers] == [
        (first.id.hex, 12550, "INV-1"),
        (second.id.hex, 990, "INV-2"),
    ]
    # and transmitted to the bank, byte for byte
    assert inbound_path(payment_file).read_bytes() == data
    assert PaymentFile.objects.filter(transmitted_at__isnull=True).count() == 0
    # and each payment announced as released, in its account's partition
    released = OutboxMessage.objects.filter(event_type="PaymentReleased")
    assert {row.envelope["data"]["payment_id"] for row in released} == {
        str(p.id) for p in (first, second, third)
    }
    row = released.get(envelope__data__payment_id=str(first.id))
    assert row.subject == f"{first.id}/release"
    assert row.partition_key == str(acme_eur.id)
    assert row.envelope["data"]["end_to_end_id"] == first.id.hex
    assert row.envelope["data"]["file_id"] == str(payment_file.id)
    assert set(Release.objects.values_list("status", flat=True)) == {"released"}


def test_a_second_cut_off_releases_nothing_twice(v2, alice, bob, acme_eur):
    approved(alice, bob, acme_eur)
    releases_collect()

    assert releases_collect() == []
    assert PaymentFile.objects.count() == 1
    assert OutboxMessage.objects.filter(event_type="PaymentReleased").count() == 1


def test_a_v1_approval_is_kept_not_releasable_with_the_reason(alice, bob, acme):
    # given: an approval published as v1, which never carried the creditor's IBAN
    event = payment_event(
        "PaymentApproved", organisation=acme, submitted_by=alice, actor=bob, sequence=1
    )

    # when
    consume(
        consumer="bank_gateway",
        envelope=event.envelope,
        handlers=CONSUMER.handlers,
        consumes=CONSUMER.consumed_types,
    )
    files = releases_collect()

    # then
    release = Release.objects.get()
    assert release.status == ReleaseStatus.NOT_RELEASABLE
    assert "IBAN is unknown" in release.reason
    assert files == []
    assert not OutboxMessage.objects.filter(event_type="PaymentReleased").exists()


def test_a_file_not_transmitted_is_sent_by_the_next_run(
    settings, v2, alice, bob, acme_eur, tmp_path
):
    # given: the bank's folder cannot be written at the cut-off
    approved(alice, bob, acme_eur)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    settings.BANK_INBOUND_DIR = blocked
    releases_collect()
    payment_file = PaymentFile.objects.get()
    assert payment_file.transmitted_at is None

    # when: it can again
    settings.BANK_INBOUND_DIR = tmp_path / "bank-inbound"
    releases_collect()

    # then
    payment_file.refresh_from_db()
    assert payment_file.transmitted_at is not None
    assert inbound_path(payment_file).is_file()


def test_a_payment_the_format_refuses_is_kept_aside_and_the_others_leave(
    v2, alice, bob, acme_eur
):
    # given: one payment with no reference (fine: no RmtInf), and one whose
    # release a test made unpayable (an IBAN whose check digits are wrong)
    plain = approved(alice, bob, acme_eur, reference="")
    odd = approved(alice, bob, acme_eur)
    Release.objects.filter(payment_id=odd.id).update(
        creditor_iban="GB00BUKB20201555555555"
    )

    # when
    [payment_file] = releases_collect()

    # then: the other leaves; the odd one waits no more, with its reason
    read = credit_transfer_read(content_read(payment_file.sha256))
    assert [t.end_to_end_id for t in read.transfers] == [plain.id.hex]
    assert read.transfers[0].remittance == ""
    kept = Release.objects.get(payment_id=odd.id)
    assert kept.status == ReleaseStatus.NOT_RELEASABLE
    assert "creditor_iban" in kept.reason
    assert releases_collect() == []


def test_a_files_releases_cost_the_same_statements_however_many(
    v2, alice, bob, acme_eur
):
    def statements_to_release(count: int) -> int:
        payments = [approved(alice, bob, acme_eur) for _ in range(count)]
        with CaptureQueriesContext(connection) as queries:
            [payment_file] = releases_collect()
        assert payment_file.transfers == count
        released = OutboxMessage.objects.filter(
            event_type="PaymentReleased", envelope__data__file_id=str(payment_file.id)
        ).order_by("id")
        # the file's events in its order: the payments' order of approval
        assert [row.envelope["data"]["payment_id"] for row in released] == [
            str(p.id) for p in payments
        ]
        return len(queries.captured_queries)

    assert statements_to_release(2) == statements_to_release(5)
