"""`python manage.py reprocess_settlement_file <file id>`: process a stored file again.

The operator's form of POST /api/v1/settlement-files/{id}/reprocess: it asks,
through the outbox, and the settlement consumer processes the stored bytes.
Nothing changes twice. See docs/lessons/transfer-vs-processing.md#replay.
"""

import uuid

from django.core.management.base import BaseCommand, CommandError

from observability.cause import Cause, caused_by
from settlement.errors import SettlementFileNotFound
from settlement.models import SettlementFile
from settlement.reprocessing import settlement_file_reprocess


class Command(BaseCommand):
    help = "Ask the settlement consumer to process a received file again."

    def add_arguments(self, parser):
        parser.add_argument("file_id", help="The settlement file's id.")

    def handle(self, *args, file_id, **options):
        try:
            file_uuid = uuid.UUID(file_id)
            organisation_id = SettlementFile.objects.values_list(
                "organisation_id", flat=True
            ).get(pk=file_uuid)
            with caused_by(Cause.fresh()):  # the command run is the cause
                settlement_file_reprocess(
                    organisation_id=organisation_id,
                    file_id=file_uuid,
                    requested_by=None,
                )
        except (ValueError, SettlementFile.DoesNotExist, SettlementFileNotFound):
            raise CommandError(f"no settlement file {file_id!r}") from None
        self.stdout.write(
            f"Asked to process {file_id} again; the settlement worker will."
        )
