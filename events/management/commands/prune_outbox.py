"""python manage.py prune_outbox: delete published outbox rows past their retention.

Published rows are kept OUTBOX_RETENTION_DAYS for replay_events; unpublished
rows are never deleted, whatever their age.
"""

from events.management.prune import PruneCommand
from events.retention import outbox_prune


class Command(PruneCommand):
    help = (
        "Delete outbox rows published more than N days ago (default "
        "OUTBOX_RETENTION_DAYS); never unpublished ones."
    )
    setting = "OUTBOX_RETENTION_DAYS"
    rows = "published outbox rows"

    def prune(self, *, older_than):
        return outbox_prune(older_than=older_than)
