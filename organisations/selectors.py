"""Reads of tenancy: which organisation a user acts for, and who holds a role."""

from django.conf import settings
from django.contrib.auth import get_user_model

from organisations.errors import NoOrganisation, OperatorRequired
from organisations.models import Membership, Organisation


def is_operator(*, user) -> bool:
    """Whether the user may see and switch what every organisation shares.

    The broker's queues (with other tenants' messages in them), the relay and
    each consumer's pause switch serve all organisations at once, so a member's
    role inside one organisation is not enough: staff only, and in demo mode
    also the demo users named in settings.DEMO_OPERATORS, so the presenter can
    drive the fault lab. This is the one place that decides it.
    """
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return settings.DEMO_MODE and user.get_username() in settings.DEMO_OPERATORS


def operator_check(*, user) -> None:
    """Raise OperatorRequired unless the user is an operator (see is_operator)."""
    if not is_operator(user=user):
        raise OperatorRequired(
            "This acts on queues and switches every organisation shares: staff "
            "only (in demo mode also the demo operators: "
            f"{', '.join(settings.DEMO_OPERATORS) or 'none'})."
            if settings.DEMO_MODE
            else "This acts on queues and switches every organisation shares: "
            "staff only."
        )


# What a query that reads a user joins so that membership_get needs no query
# of its own (api/auth_tokens.py: every token request).
MEMBERSHIP_JOIN = "membership__organisation"


def membership_get(*, user) -> Membership | None:
    """Return the user's membership, or None for a user outside every organisation."""
    if not user or not user.is_authenticated:
        return None
    try:
        if get_user_model().membership.is_cached(user):  # joined by MEMBERSHIP_JOIN
            return user.membership
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
    "Organisation",
    "approver_list",
    "is_operator",
    "membership_get",
    "operator_check",
    "organisation_id_for",
]
