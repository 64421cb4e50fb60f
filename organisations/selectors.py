"""Reads of tenancy: which organisation a user acts for, and who holds a role."""

from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

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


# What a reader of members by hand loads of each user.
_LOADED = ("id", "username", "email")


def _active_members(*, organisation_id, user_id=None, approvers=False) -> list:
    """The organisation's active users (only this one, only approvers), by
    username, with only the id, username and e-mail loaded.

    Written by hand: consumers ask it for nearly every event they apply, and
    building the ORM's query with its join cost 0.4 ms of the 0.5 it took
    (in-process; docs/adr/0026-hot-reads-by-hand.md).
    """
    user_model = get_user_model()
    params = [
        Membership._meta.get_field("organisation").get_db_prep_value(
            organisation_id, connection
        )
    ]
    if user_id is not None:
        params.append(user_model._meta.pk.get_db_prep_value(user_id, connection))
    with connection.cursor() as cursor:
        cursor.execute(_active_members_sql(user_id is not None, approvers), params)
        rows = cursor.fetchall()
    # As a queryset would load them, without RawQuerySet's column mapping.
    return [user_model.from_db(connection.alias, _LOADED, row) for row in rows]


@cache
def _active_members_sql(one_user: bool, approvers: bool) -> str:
    user_model = get_user_model()
    quote = connection.ops.quote_name
    membership = Membership._meta.get_field

    def user_column(name: str) -> str:
        return f"u.{quote(user_model._meta.get_field(name).column)}"

    conditions = [
        user_column("is_active"),
        f"m.{quote(membership('organisation').column)} = %s",
    ]
    if one_user:
        conditions.append(f"{user_column('id')} = %s")
    if approvers:
        conditions.append(f"m.{quote(membership('is_approver').column)}")
    return (
        f"SELECT {', '.join(user_column(name) for name in _LOADED)} "  # noqa: S608
        f"FROM {quote(user_model._meta.db_table)} u "
        f"JOIN {quote(Membership._meta.db_table)} m "
        f"ON m.{quote(membership('user').column)} = {user_column('id')} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {user_column('username')}"
    )


def active_member_list(*, user_id, organisation_id) -> list:
    """The user, if active and a member of the organisation; else nobody.

    Only the id, username and e-mail are loaded (_active_members).
    """
    return _active_members(organisation_id=organisation_id, user_id=user_id)


def approver_list(*, organisation_id) -> list:
    """Return the active users who may approve in the organisation, by username.

    Only the id, username and e-mail are loaded (_active_members).
    """
    return _active_members(organisation_id=organisation_id, approvers=True)


__all__ = [
    "Membership",
    "Organisation",
    "active_member_list",
    "approver_list",
    "is_operator",
    "membership_get",
    "operator_check",
    "organisation_id_for",
]
