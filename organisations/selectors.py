"""Reads of tenancy: which organisation a user acts for, and who holds a role."""

from django.contrib.auth import get_user_model

from organisations.models import Membership, Organisation


def membership_get(*, user) -> Membership | None:
    """Return the user's membership, or None for a user outside every organisation."""
    if not user or not user.is_authenticated:
        return None
    try:
        return Membership.objects.select_related("organisation").get(user=user)
    except Membership.DoesNotExist:
        return None


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


__all__ = ["Membership", "Organisation", "approver_list", "membership_get"]
