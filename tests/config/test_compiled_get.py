"""A queryset compiled once loads what the queryset loads (config/db/compiled.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.transaction import TransactionManagementError
from rest_framework.authtoken.models import Token

from api.auth_tokens import _TOKEN_READ, _token_read
from config.db.compiled import CompiledGet
from organisations.selectors import membership_get
from payments.locks import payment_lock
from tests.factories import payment_submitted

pytestmark = pytest.mark.django_db

FIELDS = ("key", "user_id", "created")


def test_the_token_read_loads_what_its_queryset_loads_with_its_joins(
    bob, django_assert_num_queries
):
    # given
    issued = Token.objects.create(user=bob)
    expected = _token_read(issued.key).get()

    # when
    with django_assert_num_queries(1):
        token = _TOKEN_READ.get(key=issued.key)

    # then: the same values (the timestamp as aware as the ORM's, on SQLite
    # too), and the user, membership and organisation came with it
    assert [getattr(token, f) for f in FIELDS] == [getattr(expected, f) for f in FIELDS]
    with django_assert_num_queries(0):
        membership = membership_get(user=token.user)
        assert (token.user.username, membership.is_approver) == ("bob", True)
        assert membership.organisation.slug == "acme"


def test_a_user_outside_every_organisation_has_no_membership_without_a_query(
    outsider, django_assert_num_queries
):
    issued = Token.objects.create(user=outsider)

    token = _TOKEN_READ.get(key=issued.key)

    with django_assert_num_queries(0):
        assert membership_get(user=token.user) is None


def test_an_unknown_key_reads_nothing():
    assert _TOKEN_READ.get(key="no-such-token") is None


def test_a_value_that_does_not_reach_the_sql_as_a_parameter_fails_at_once(bob):
    # A value the query does not send as a parameter (here: not used at all)
    # cannot be replaced by the caller's: the compilation refuses.
    read = CompiledGet(
        lambda username: get_user_model().objects.filter(username="bob"),
        fields=lambda: {"username": get_user_model()._meta.get_field("username")},
        probe={"username": "probe-name"},
    )

    with pytest.raises(RuntimeError, match="compiled unexpectedly"):
        read.get(username="bob")


def test_the_payment_lock_loads_the_account_and_submitter_with_the_payment(
    alice, acme_eur, django_assert_num_queries
):
    payment = payment_submitted(by=alice, account=acme_eur)

    with transaction.atomic(), django_assert_num_queries(1):
        locked = payment_lock(payment_id=payment.id, organisation_id=alice_org(alice))
        assert (locked.debtor_account.currency, locked.submitted_by.username) == (
            "EUR",
            "alice",
        )

    assert (locked.status, locked.version, locked.amount) == (
        payment.status,
        payment.version,
        payment.amount,
    )


def test_another_tenants_payment_or_no_uuid_at_all_is_not_found(
    alice, acme_eur, globex
):
    payment = payment_submitted(by=alice, account=acme_eur)

    with transaction.atomic():
        assert payment_lock(payment_id=payment.id, organisation_id=globex.pk) is None
        assert payment_lock(payment_id="not-a-uuid", organisation_id=globex.pk) is None


@pytest.mark.django_db(transaction=True)
def test_a_lock_outside_a_transaction_is_refused_as_the_querysets_is(alice, acme_eur):
    payment = payment_submitted(by=alice, account=acme_eur)

    with pytest.raises(TransactionManagementError):
        payment_lock(payment_id=payment.id, organisation_id=alice_org(alice))


def alice_org(user):
    return membership_get(user=user).organisation_id
