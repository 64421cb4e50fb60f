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
