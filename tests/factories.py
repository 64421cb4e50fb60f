"""factory_boy factories for tenants, users and accounts, plus a payment helper."""

import itertools

import factory
from django.contrib.auth import get_user_model

from organisations.models import Membership, Organisation
from payments.iban import iban_build
from payments.models import DebtorAccount

_account_numbers = itertools.count(1)
VALID_CREDITOR_IBAN = "DE89370400440532013000"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a membership: UserFactory(organisation=acme, is_maker=True)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("demo-password")
    organisation = None
    is_maker = False
    is_approver = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        organisation = kwargs.pop("organisation")
        roles = {
            "is_maker": kwargs.pop("is_maker"),
            "is_approver": kwargs.pop("is_approver"),
        }
        user = super()._create(model_class, *args, **kwargs)
        if organisation is not None:
            Membership.objects.create(user=user, organisation=organisation, **roles)
        return user


class DebtorAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DebtorAccount

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Operating account {n}")
    currency = "EUR"
    iban = factory.LazyFunction(
        lambda: iban_build("DE", f"{37040044:08d}{next(_account_numbers):010d}")
    )


def payment_request_body(account, **overrides) -> dict:
    """Return a valid POST /api/v1/payments body for the account, with overrides."""
    body = {
        "debtor_account": str(account.id),
        "amount": 12550,
        "currency": account.currency,
        "creditor": {"name": "Jane Supplier", "iban": VALID_CREDITOR_IBAN},
        "reference": "INV-1",
    }
    body.update(overrides)
    return body


def payment_submitted(*, by, account, **overrides):
    """Submit a payment through the service, so it has its PaymentSubmitted event."""
    from payments.services import payment_submit

    fields = {
        "amount": 12550,
        "currency": account.currency,
        "creditor_name": "Jane Supplier",
        "creditor_iban": VALID_CREDITOR_IBAN,
        "reference": "INV-1",
    }
    fields.update(overrides)
    return payment_submit(actor=by, debtor_account_id=account.id, **fields)
