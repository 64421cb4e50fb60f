"""Retention of the outbox: published events are kept for replay, then pruned.

An unpublished row is an event the broker has not confirmed yet; deleting it
would lose the event, so pruning never touches one, however old.
"""

from datetime import timedelta

from django.utils import timezone

from events.models import OutboxMessage

BATCH = 5_000


def outbox_prune(*, older_than: timedelta) -> int:
    """Delete rows published longer than `older_than` ago; return how many went.

    Deletes in batches, so a large backlog never holds one long lock on the
    table the relay claims from.
    """
    cutoff = timezone.now() - older_than
    prunable = OutboxMessage.objects.filter(
        published_at__isnull=False, published_at__lt=cutoff
    )
    deleted = 0
    while ids := list(prunable.order_by("id").values_list("id", flat=True)[:BATCH]):
        count, _ = prunable.filter(id__in=ids).delete()
        deleted += count
    return deleted
