"""Read a user's own notifications for the API."""

from django.db.models import QuerySet

from notifications.models import Notification


def notification_list(
    *, recipient, organisation_id, payment_id=None
) -> QuerySet[Notification]:
    """Return the recipient's notifications in the organisation, newest first."""
    notifications = Notification.objects.filter(
        recipient=recipient, organisation_id=organisation_id
    )
    if payment_id is not None:
        notifications = notifications.filter(payment_id=payment_id)
    return notifications.order_by("-created_at", "-id")
