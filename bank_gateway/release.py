"""The cut-off: waiting releases become one pain.001 file per debtor account.

Every BANK_RELEASE_CUTOFF_SECONDS the bank gateway's worker collects each
account's waiting releases, builds the credit transfer file, stores its bytes
in the content store, and in the same transaction marks the releases released
and writes one PaymentReleased per payment through the outbox. Only then is
the file handed to the bank (bank_gateway/transmission.py): a crash between
the two leaves a file not yet transmitted, which the next run sends.
See docs/lessons/transfer-vs-processing.md.
"""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bank_gateway.events import payment_released_message
from bank_gateway.models import PaymentFile, Release, ReleaseStatus
from bank_gateway.transmission import files_transmit
from content_store import content_put
from events.outbox import publish_all
from iso20022.errors import CreditTransferInvalid
from iso20022.pain001 import Party, Transfer, credit_transfer_build, transfer_check
from organisations.models import Organisation

logger = logging.getLogger("bank_gateway.release")


def releases_collect(*, now: datetime | None = None) -> list[PaymentFile]:
    """Release every waiting payment, one file per debtor account; transmit them.

    Safe to run in several workers at once: each account's releases are
    claimed with SKIP LOCKED on PostgreSQL, so a release goes into one file.
    """
    now = now or timezone.now()
    accounts = (
        Release.objects.filter(status=ReleaseStatus.WAITING)
        .values_list("debtor_account_id", flat=True)
        .distinct()
    )
    made = [
        payment_file
        for account in list(accounts)
        if (payment_file := _account_release(account, now)) is not None
    ]
    files_transmit()
    return made


def _transfers(releases: list[Release]) -> list[Transfer]:
    return [
        Transfer(
            end_to_end_id=release.end_to_end_id,
            amount=release.amount,
            currency=release.currency,
            creditor_name=release.creditor_name,
            creditor_iban=release.creditor_iban,
            remittance=release.reference,
        )
        for release in releases
    ]


def _releasable(releases: list[Release]) -> list[Release]:
    """Keep the releases a credit transfer can carry; mark the others, with why.

    One payment the file format refuses (a name too long for pain.001, say)
    must not hold back its account's others at every cut-off: it is kept
    visibly as not releasable, for a person to look at.
    """
    kept = []
    for release, transfer in zip(releases, _transfers(releases), strict=True):
        try:
            transfer_check(transfer)
        except CreditTransferInvalid as exc:
            release.status, release.reason = ReleaseStatus.NOT_RELEASABLE, str(exc)
            release.save(update_fields=["status", "reason"])
            logger.warning("payment %s not releasable: %s", release.payment_id, exc)
        else:
            kept.append(release)
    return kept


def _account_release(debtor_account_id: uuid.UUID, now: datetime) -> PaymentFile | None:
    with transaction.atomic():
        releases = list(
            Release.objects.select_for_update(skip_locked=True)
            .filter(status=ReleaseStatus.WAITING, debtor_account_id=debtor_account_id)
            .order_by("id")[: settings.BANK_FILE_MAX_TRANSFERS]
        )
        if not releases:
            return None
        releases = _releasable(releases)
        if not releases:
            return None
        first = releases[0]
        organisation = Organisation.objects.get(pk=first.organisation_id)
        file_id = uuid.uuid4()
        data = credit_transfer_build(
            message_id=file_id.hex,
            created_at=now,
            initiating_party=organisation.name,
            debtor=Party(name=organisation.name, iban=first.debtor_iban),
            requested_execution_date=timezone.localdate(now),
            transfers=_transfers(releases),
        )
        # Stored inside the transaction: if it rolls back, an unreferenced blob
        # remains, which is harmless in a store keyed by content.
        sha256 = content_put(data)
        payment_file = PaymentFile.objects.create(
            id=file_id,
            organisation=organisation,
            debtor_account_id=debtor_account_id,
            debtor_iban=first.debtor_iban,
            message_id=file_id.hex,
            sha256=sha256,
            size=len(data),
            transfers=len(releases),
        )
        Release.objects.filter(pk__in=[r.pk for r in releases]).update(
            status=ReleaseStatus.RELEASED, file=payment_file, released_at=now
        )
        # One insert for the file's events, not one each.
        publish_all(
            [
                payment_released_message(
                    release=release, payment_file=payment_file, at=now
                )
                for release in releases
            ]
        )
    logger.info(
        "released %d payments of account %s in %s",
        len(releases),
        debtor_account_id,
        payment_file.message_id,
    )
    return payment_file
