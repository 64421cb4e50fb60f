"""Ask for a received file to be processed again: a replay of processing only.

Receiving never runs again (the bytes are stored, by hash); the request is an
event, SettlementFileReprocessRequested, which the settlement consumer reads
like the first one. Processing changes nothing twice, so a reprocess can
only add what is new: a line that was waiting and now matches.
See docs/lessons/transfer-vs-processing.md#replay.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from settlement.events import settlement_file_reprocess_requested_publish
from settlement.models import SettlementFile
from settlement.selectors import settlement_file_get


def settlement_file_reprocess(
    *, organisation_id, file_id, requested_by: str | None
) -> SettlementFile:
    """Count the request on the file and publish it; return the file.

    Raises SettlementFileNotFound for another organisation's or an unknown file.
    """
    settlement_file_get(organisation_id=organisation_id, file_id=file_id)
    with transaction.atomic():
        SettlementFile.objects.filter(pk=file_id).update(
            reprocess_requests=F("reprocess_requests") + 1
        )
        settlement_file = SettlementFile.objects.select_for_update().get(pk=file_id)
        settlement_file_reprocess_requested_publish(
            settlement_file=settlement_file,
            requested_by=requested_by,
            at=timezone.now(),
        )
    return settlement_file
