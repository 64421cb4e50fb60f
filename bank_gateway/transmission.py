"""Hand released files to the bank: its inbound folder, one file per message id.

A real gateway would upload over SFTP or EBICS; here the bank's inbound folder
is a directory (BANK_INBOUND_DIR), which the demo's simulated bank reads. The
file is written under a temporary name and renamed, so the bank never reads
half a file; writing it again writes the same bytes under the same name.
"""

import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from bank_gateway.models import PaymentFile
from content_store import content_read

logger = logging.getLogger("bank_gateway.transmission")


def inbound_path(payment_file: PaymentFile) -> Path:
    return (
        Path(settings.BANK_INBOUND_DIR)
        / str(payment_file.organisation_id)
        / f"{payment_file.message_id}.xml"
    )


def file_transmit(payment_file: PaymentFile) -> Path:
    """Write the file into the bank's inbound folder and record when."""
    path = inbound_path(payment_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(content_read(payment_file.sha256))
    partial.replace(path)
    PaymentFile.objects.filter(pk=payment_file.pk).update(transmitted_at=timezone.now())
    return path


def files_transmit() -> int:
    """Transmit every file not transmitted yet (after a crash or a full disk)."""
    sent = 0
    for payment_file in PaymentFile.objects.filter(transmitted_at__isnull=True):
        try:
            file_transmit(payment_file)
            sent += 1
        except OSError as exc:
            logger.warning("cannot transmit %s yet: %s", payment_file.message_id, exc)
    return sent
