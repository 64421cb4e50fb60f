"""Reads of tenancy: which organisation a user acts for, and who holds a role."""

from django.contrib.auth import get_user_model

from api.errors import Forbidden
from organisations.models import Membership, Organisation


class NoOrganisation(Forbidden):
    """The caller belongs to no organisation, so no tenant's data is theirs."""

    code = "no-organisation"
    title = "You do not belong to an organisation"


class RoleRequired(Forbidden):
    """The caller's roles (maker, approver) do not allow this action."""

    code = "role-required"
    title = "Your role does not allow this"


def membership_get(*, user) -> Membership | None:
    """Return the user's membership, or None for a user outside every organisation."""
    if not user or not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("organisation").get(user=user)
    except Membership.DoesNotExist:
        return None


def organisation_id_for(*, user):
    """Return the id of the organisation the user acts for, or raise NoOrganisation.

    Every tenant-scoped read and command starts here, so all answer alike.
    """
    membership = membership_get(user=user)
    if membership is None:
        raise NoOrganisation("Ask an administrator to add you to an organisation.")
    return membership.organisation_id


def approver_list(*, organisation_id) -> list:
    """Return the active users who may approve in the organisation."""
    return list(
        get_user_model()
        .objects.filter(
            membership__organisation_id=organisation_id,
            membership__is_approver=True,
            is_active=True,
        )
        .order_by("username")
    )


__all__ = [
    "Membership",
    "NoOrganisation",
    "Organisation",
    "RoleRequired",
    "approver_list",
    "membership_get",
    "organisation_id_for",
]
