"""The demo's bank: it takes released pain.001 files and answers with a camt.053.

Demo-only machinery, an app of its own so production leaves it out. The bank
gateway transmits each credit transfer file into the bank's inbound folder
(BANK_INBOUND_DIR/<organisation id>/); the bank books every transfer and,
for each organisation, writes one end-of-day statement (camt.053.001.08) into
that organisation's landing folder (SETTLEMENT_LANDING_DIR/<slug>/), where the
receiver picks it up. It talks to the app through folders only, as a real
bank talks through SFTP. The statement's shape is iso20022/bank_simulator.py.
"""

import json
import logging
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from iso20022.bank_simulator import SimulatorOptions, statements_for
from iso20022.errors import Iso20022Error
from organisations.models import Organisation

logger = logging.getLogger("demo_bank")


@dataclass(frozen=True)
class Issued:
    organisation: str
    path: Path
    transfer_files: int


NEXT_OPTIONS = ".next-statement.json"


def next_statement_options_set(organisation_id, options: SimulatorOptions) -> None:
    """Make the bank's next statement for the organisation carry these mistakes."""
    folder = Path(settings.BANK_INBOUND_DIR) / str(organisation_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NEXT_OPTIONS).write_text(json.dumps(asdict(options)))


def _options_taken(organisation_dir: Path) -> SimulatorOptions | None:
    path = organisation_dir / NEXT_OPTIONS
    try:
        options = SimulatorOptions(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    path.unlink(missing_ok=True)
    return options


def _claimed(organisation_dir: Path) -> list[Path]:
    """Take the organisation's new transfer files; a rename is the claim.

    Two bank processes (the loop and a lab button) may look at once: the one
    whose rename succeeds books the file, so it is booked once.
    """
    done = organisation_dir / "booked"
    done.mkdir(exist_ok=True)
    claimed = []
    for path in sorted(organisation_dir.glob("*.xml")):
        target = done / path.name
        try:
            path.rename(target)
        except FileNotFoundError:
            continue
        claimed.append(target)
    return claimed


def _refuse(organisation_dir: Path, claimed: list[Path], exc: Exception) -> None:
    refused = organisation_dir / "refused"
    refused.mkdir(exist_ok=True)
    for path in claimed:
        path.replace(refused / path.name)
    (refused / f"{claimed[0].stem}.reason").write_text(f"{exc}\n")
    logger.error("the bank refused %s: %s", [p.name for p in claimed], exc)


def landing_dir(organisation: Organisation) -> Path:
    return Path(settings.SETTLEMENT_LANDING_DIR) / organisation.slug


def statement_deliver(organisation: Organisation, data: bytes) -> Path:
    """Put a statement into the organisation's landing folder, whole."""
    folder = landing_dir(organisation)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"camt053-{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}.xml"
    partial = folder / f".{name}.part"
    partial.write_bytes(data)
    target = folder / name
    partial.replace(target)
    return target


def statements_issue(
    options: SimulatorOptions | None = None, *, only: Organisation | None = None
) -> list[Issued]:
    """Book every new transfer file (of `only`); one statement per organisation.

    Without `options`, an organisation's statement carries the mistakes the
    lab asked for (next_statement_options_set), once, or none.
    """
    issued = []
    inbound = Path(settings.BANK_INBOUND_DIR)
    if not inbound.is_dir():
        return issued
    for organisation_dir in sorted(p for p in inbound.iterdir() if p.is_dir()):
        if only is not None and organisation_dir.name != str(only.pk):
            continue
        organisation = Organisation.objects.filter(pk=organisation_dir.name).first()
        if organisation is None:
            logger.warning("no organisation %s; its files stay", organisation_dir.name)
            continue
        claimed = _claimed(organisation_dir)
        if not claimed:
            continue
        these = options or _options_taken(organisation_dir) or SimulatorOptions()
        try:
            data = statements_for(
                pain001_files=[path.read_bytes() for path in claimed],
                booking_date=timezone.localdate(),
                options=these,
            )
        except Iso20022Error as exc:
            # A real bank rejects a file it cannot book; so does this one, and
            # it goes on with the next organisation's.
            _refuse(organisation_dir, claimed, exc)
            continue
        path = statement_deliver(organisation, data)
        issued.append(Issued(organisation.slug, path, len(claimed)))
        logger.info(
            "booked %d files of %s into %s", len(claimed), organisation.slug, path
        )
    return issued
