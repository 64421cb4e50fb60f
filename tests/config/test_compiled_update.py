"""An update() compiled once writes what the queryset's update() writes
(config/db/compiled.py `CompiledUpdate`)."""

import uuid
from datetime import UTC, datetime

import pytest

from config.db.compiled import CompiledUpdate
from payments.models import Payment, PaymentStatus
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def _field(name):
    return Payment._meta.get_field(name)


def released(status=PaymentStatus.PENDING_APPROVAL):
    return CompiledUpdate(
        lambda payment_id, at: Payment.objects.filter(pk=payment_id, status=status),
        changes=lambda payment_id, at: {
            "status": PaymentStatus.RELEASED,
            "released_at": at,
        },
        fields=lambda: {"payment_id": _field("id"), "at": _field("released_at")},
        probe={"payment_id": uuid.UUID(int=9), "at": datetime(2001, 1, 1, tzinfo=UTC)},
    )


def test_it_writes_the_querysets_update_and_counts_the_rows_matched(
    alice, acme_eur, django_assert_num_queries
):
    # given: two payments, one the update is for
    payment, other = (payment_submitted(by=alice, account=acme_eur) for _ in "12")
    update = released()
    update.run(payment_id=uuid.uuid4(), at=AT)  # compiled on first use

    # when
    with django_assert_num_queries(1):
        count = update.run(payment_id=payment.id, at=AT)

    # then: its row, and only its row, as the queryset's update() leaves it
    assert count == 1
    payment.refresh_from_db()
    other.refresh_from_db()
    assert (payment.status, payment.released_at) == (PaymentStatus.RELEASED, AT)
    assert (other.status, other.released_at) == (PaymentStatus.PENDING_APPROVAL, None)


def test_a_row_its_filter_leaves_out_is_not_written(alice, acme_eur):
    payment = payment_submitted(by=alice, account=acme_eur)

    assert (
        released(status=PaymentStatus.APPROVED).run(payment_id=payment.id, at=AT) == 0
    )

    payment.refresh_from_db()
    assert (payment.status, payment.released_at) == (
        PaymentStatus.PENDING_APPROVAL,
        None,
    )


def test_an_update_that_needs_a_join_is_refused():
    update = CompiledUpdate(
        lambda slug: Payment.objects.filter(organisation__slug=slug),
        changes=lambda slug: {"status": PaymentStatus.RELEASED},
        fields=lambda: {"slug": Payment._meta.get_field("reference")},
        probe={"slug": "probe-slug"},
    )

    with pytest.raises(RuntimeError, match="more than its own table"):
        update.run(slug="acme")
