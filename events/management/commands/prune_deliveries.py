"""python manage.py prune_deliveries: delete delivery records past their retention.

Records are kept DELIVERY_RETENTION_DAYS; those of an event a consumer still
holds (parked, failed, dead-lettered) are kept until it is applied.
"""

from events.management.prune import PruneCommand
from events.retention import delivery_prune


class Command(PruneCommand):
    help = (
        "Delete delivery records older than N days (default "
        "DELIVERY_RETENTION_DAYS), except those of events a consumer still holds."
    )
    setting = "DELIVERY_RETENTION_DAYS"
    rows = "delivery records"

    def prune(self, *, older_than):
        return delivery_prune(older_than=older_than)
