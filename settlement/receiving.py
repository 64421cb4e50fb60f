"""Receive a settlement file: store its bytes, record it, announce it. No parsing.

The arrival of something is itself the event. A file lands (an upload, the
landing folder); this module checks only what can be checked without reading
it (who sends it, its size, its media type), keeps the raw bytes immutably in
the content store under their SHA-256, and in one transaction inserts the
SettlementFile row and writes SettlementFileReceived to the outbox. Reading the
XML, its lines and matching them to payments is another responsibility, a
consumer of that event (settlement/processing.py, not built yet), so receiving
stays fast and dumb, processing scales on its own, and processing can be run
again on the same stored bytes. See docs/lessons/transfer-vs-processing.md.
"""

import unicodedata
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from content_store import content_put
from organisations.errors import NoOrganisation, RoleRequired
from organisations.selectors import membership_get
from settlement.errors import (
    EmptySettlementFile,
    SettlementFileTooLarge,
    UnsupportedFileType,
)
from settlement.events import settlement_file_received_publish
from settlement.models import SettlementFile, SettlementFileSource

CONTENT_TYPES = ("application/xml", "text/xml")
ORIGINAL_NAME_MAX = 255


def settlement_file_receiver_check(*, actor) -> uuid.UUID:
    """Return the id of the organisation the actor may receive files for.

    Raises NoOrganisation, or RoleRequired unless the actor is an approver: a
    statement tells the organisation which payments left, so receiving one is
    an approver's act.
    """
    membership = membership_get(user=actor)
    if membership is None:
        raise NoOrganisation("Ask an administrator to add you to an organisation.")
    if not membership.is_approver:
        raise RoleRequired("Only an approver may send a settlement file.")
    return membership.organisation_id


def content_type_normalise(content_type: str) -> str:
    """Return the media type alone, lower-cased: `Text/XML; charset=x` is text/xml."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def size_check(*, size: int) -> None:
    """Refuse an empty file, or one over SETTLEMENT_FILE_MAX_BYTES."""
    if size == 0:
        raise EmptySettlementFile("The file has no bytes; send the statement itself.")
    limit = settings.SETTLEMENT_FILE_MAX_BYTES
    if size > limit:
        raise SettlementFileTooLarge(
            f"Send at most {limit} bytes (SETTLEMENT_FILE_MAX_BYTES); "
            f"this file has {size}."
        )


def original_name_clean(name: str) -> str:
    """Keep the last path segment, without control or invisible characters.

    The name is shown to people and logged: `../../etc/passwd`, a newline or a
    right-to-left override must not survive it.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Category C: controls, format characters (bidi overrides, zero-width),
    # surrogates, private use, unassigned.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip()
    return "" if name in {".", ".."} else name[:ORIGINAL_NAME_MAX]


def settlement_file_receive(
    *,
    organisation_id,
    data: bytes,
    content_type: str,
    source: str,
    original_name: str = "",
    received_by=None,
) -> tuple[SettlementFile, bool]:
    """Store the file and announce it once; return (file, created).

    The same bytes again for the same organisation return the file received
    first, with created False, and publish nothing. With `received_by`, that
    user must be an approver of the organisation. Raises UnsupportedFileType,
    EmptySettlementFile or SettlementFileTooLarge before anything is stored.
    """
    if received_by is not None:
        own = settlement_file_receiver_check(actor=received_by)
        if str(own) != str(organisation_id):
            raise RoleRequired("You may send files for your own organisation only.")
    media_type = content_type_normalise(content_type)
    if media_type not in CONTENT_TYPES:
        raise UnsupportedFileType(
            f"Got {media_type or 'no media type'!r}; send the statement as "
            "application/xml or text/xml."
        )
    size_check(size=len(data))
    if source not in SettlementFileSource.values:
        raise ValueError(f"unknown source {source!r}")
    # Before the transaction, and harmless if what follows fails: the store is
    # content-addressed, so an orphan blob is only bytes nobody points at, and
    # the retry that succeeds writes the same name again (or finds it there).
    # Storing inside the transaction would hold its locks for the whole write.
    sha256 = content_put(data)
    with transaction.atomic():
        existing = _file_of(organisation_id, sha256)
        if existing is not None:
            return existing, False
        try:
            # A savepoint: a concurrent receiver of the same bytes may insert
            # first; then the unique constraint refuses ours (nothing of it,
            # event included, is kept) and theirs is the file.
            with transaction.atomic():
                received = SettlementFile.objects.create(
                    organisation_id=organisation_id,
                    sha256=sha256,
                    size=len(data),
                    content_type=media_type,
                    source=source,
                    original_name=original_name_clean(original_name),
                    received_at=timezone.now(),
                    received_by=received_by,
                )
                settlement_file_received_publish(settlement_file=received)
        except IntegrityError:
            existing = _file_of(organisation_id, sha256)
            if existing is None:
                raise
            return existing, False
    return received, True


def _file_of(organisation_id, sha256: str) -> SettlementFile | None:
    return SettlementFile.objects.filter(
        organisation_id=organisation_id, sha256=sha256
    ).first()
