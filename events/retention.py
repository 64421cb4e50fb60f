"""Retention of the outbox, the inbox and the delivery history.

Each prune keeps what correctness still needs, however old:
- an unpublished outbox row is an event the broker has not confirmed yet;
- a parked, failed or dead-lettered inbox row is an event still to apply, and
  the delivery history of such an event is how an operator learns why.
An applied inbox row may go: the consumer's position for the payment (never
pruned) still says the event was applied, so a late duplicate is skipped.
See docs/operations.md#retention.
"""

from datetime import timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from events.models import Delivery, DeliveryStatus, InboxEntry, OutboxMessage

BATCH = 5_000


def _delete_in_batches(prunable: QuerySet) -> int:
    """Delete the rows batch by batch, so no delete holds one long lock."""
    deleted = 0
    while ids := list(prunable.order_by("id").values_list("id", flat=True)[:BATCH]):
        # The condition again: a row may have changed since it was listed.
        count, _ = prunable.filter(id__in=ids).delete()
        deleted += count
    return deleted


def outbox_prune(*, older_than: timedelta) -> int:
    """Delete rows published longer than `older_than` ago; return how many went.

    Deletes in batches, so a large backlog never holds one long lock on the
    table the relay claims from.
    """
    cutoff = timezone.now() - older_than
    return _delete_in_batches(
        OutboxMessage.objects.filter(
            published_at__isnull=False, published_at__lt=cutoff
        )
    )


def inbox_prune(*, older_than: timedelta) -> int:
    """Delete inbox rows applied longer than `older_than` ago; return how many went.

    Only `applied` rows: parked, failed and dead-lettered ones wait for a fix.
    """
    cutoff = timezone.now() - older_than
    return _delete_in_batches(
        InboxEntry.objects.filter(status=DeliveryStatus.APPLIED, applied_at__lt=cutoff)
    )


def delivery_prune(*, older_than: timedelta) -> int:
    """Delete delivery records older than `older_than`; return how many went.

    Records of an event the consumer still holds (its inbox row parked, failed
    or dead-lettered) are kept: they are the story of what went wrong.
    """
    cutoff = timezone.now() - older_than
    held = InboxEntry.objects.filter(
        consumer=OuterRef("consumer"), event_id=OuterRef("event_id")
    ).exclude(status=DeliveryStatus.APPLIED)
    return _delete_in_batches(
        Delivery.objects.filter(at__lt=cutoff).exclude(Exists(held))
    )
