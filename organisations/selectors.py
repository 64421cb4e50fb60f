"""Reads of tenancy: which organisation a user acts for, and who holds a role."""

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


def active_member_list(*, user_id, organisation_id) -> list:
    """The user, if active and a member of the organisation; else nobody.

    Only the id, username and e-mail are loaded. Written by hand: consumers ask
    it for every event that tells a submitter something, and building the
    ORM's query with its join cost 0.4 ms of the 0.5 it took (in-process;
    docs/adr/0026-hot-reads-by-hand.md).
    """
    user_model = get_user_model()
    quote = connection.ops.quote_name
    user = {
        name: user_model._meta.get_field(name)
        for name in ("id", "username", "email", "is_active")
    }
    member, organisation = (
        Membership._meta.get_field("user"),
        Membership._meta.get_field("organisation"),
    )
    user_id_column = f"u.{quote(user['id'].column)}"
    columns = ", ".join(
        f"u.{quote(user[name].column)}" for name in ("id", "username", "email")
    )
    sql = (
        f"SELECT {columns} FROM {quote(user_model._meta.db_table)} u "  # noqa: S608
        f"JOIN {quote(Membership._meta.db_table)} m "
        f"ON m.{quote(member.column)} = {user_id_column} "
        f"WHERE {user_id_column} = %s AND u.{quote(user['is_active'].column)} "
        f"AND m.{quote(organisation.column)} = %s"
    )
    params = [
        user["id"].get_db_prep_value(user_id, connection),
        organisation.get_db_prep_value(organisation_id, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # As a queryset would load them, without RawQuerySet's column mapping.
    return [
        user_model.from_db(connection.alias, ["id", "username", "email"], row)
        for row in rows
    ]


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
    "active_member_list",
    "approver_list",
    "is_operator",
    "membership_get",
    "operator_check",
    "organisation_id_for",
]
