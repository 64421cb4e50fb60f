"""python manage.py prune_inbox: delete applied inbox rows past their retention.

Applied rows are kept INBOX_RETENTION_DAYS; parked, failed and dead-lettered
rows are never deleted, whatever their age (events/retention.py says why the
applied ones may go).
"""

from events.management.prune import PruneCommand
from events.retention import inbox_prune


class Command(PruneCommand):
    help = (
        "Delete inbox rows applied more than N days ago (default "
        "INBOX_RETENTION_DAYS); never parked, failed or dead-lettered ones."
    )
    setting = "INBOX_RETENTION_DAYS"
    rows = "applied inbox rows"

    def prune(self, *, older_than):
        return inbox_prune(older_than=older_than)
