"""Reads of settlement files and their lines, always scoped to one organisation."""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from settlement.errors import SettlementFileNotFound
from settlement.models import SettlementFile, StatementLine


def settlement_file_list(*, organisation_id) -> QuerySet[SettlementFile]:
    return SettlementFile.objects.filter(organisation_id=organisation_id)


def settlement_file_get(*, organisation_id, file_id) -> SettlementFile:
    """Return the file, or raise SettlementFileNotFound (also for another tenant's)."""
    try:
        return settlement_file_list(organisation_id=organisation_id).get(id=file_id)
    except (SettlementFile.DoesNotExist, ValueError, ValidationError):
        raise SettlementFileNotFound() from None


def statement_line_list(*, organisation_id, file_id) -> QuerySet[StatementLine]:
    """Return the file's lines; raise SettlementFileNotFound as settlement_file_get."""
    file = settlement_file_get(organisation_id=organisation_id, file_id=file_id)
    return StatementLine.objects.filter(file=file)


def statement_line_search(
    *, organisation_id, payment_id: uuid.UUID | None = None
) -> QuerySet[StatementLine]:
    """The organisation's lines, or one payment's: matched to it, or carrying its
    EndToEndId while still waiting (the statement landed before its approval)."""
    lines = StatementLine.objects.filter(file__organisation_id=organisation_id)
    if payment_id is not None:
        lines = lines.filter(Q(payment_id=payment_id) | Q(end_to_end_id=payment_id.hex))
    return lines
