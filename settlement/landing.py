"""The landing folder: statements a transfer job drops, received one by one.

SETTLEMENT_LANDING_DIR holds one folder per organisation, named by its slug. A
writer (an SFTP server, a bank's copy job) writes under a temporary name (one
starting with `.` or ending in `.part` or `.tmp`) and renames the file when it
is whole, so any other name is a complete file. Each is received like an
upload (source `landing_folder`), then moved to `received/<sha256>.xml`; a file
refused for what it is (empty, too large) goes to `refused/` with a `.reason`
beside it. A crash between receiving and moving is harmless: next pass, the
same bytes create nothing new and the move happens then. Anything else that
fails (the database away) leaves the file where it is for the next pass.
See docs/lessons/transfer-vs-processing.md.
"""

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from organisations.models import Organisation
from settlement.errors import FILE_REFUSALS
from settlement.models import SettlementFileSource
from settlement.receiving import settlement_file_receive, size_check

logger = logging.getLogger("settlement.landing")

RECEIVED_DIR = "received"
REFUSED_DIR = "refused"
TEMPORARY_SUFFIXES = (".part", ".tmp")
# What a file from the folder is: statements are XML (camt.053).
LANDED_CONTENT_TYPE = "application/xml"


@dataclass
class LandingTally:
    received: int = 0
    duplicates: int = 0
    refused: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"received {self.received}, already received {self.duplicates}, "
            f"refused {self.refused}, failed {self.failed}"
        )

    def __bool__(self) -> bool:
        return any((self.received, self.duplicates, self.refused, self.failed))


def is_complete(path: Path) -> bool:
    """Whether the name is a finished file's, not a writer's temporary one."""
    return not path.name.startswith(".") and not path.name.endswith(TEMPORARY_SUFFIXES)


def _landed_files(folder: Path) -> list[Path]:
    # Not a symbolic link: whoever may write here must not make us read
    # (and store, and show) a file from elsewhere on the machine.
    return [
        path
        for path in sorted(folder.iterdir())
        if is_complete(path) and path.is_file() and not path.is_symlink()
    ]


def _refuse(folder: Path, path: Path, refusal: Exception) -> None:
    refused = folder / REFUSED_DIR
    refused.mkdir(exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    target = refused / f"{stamp}-{path.name}"
    # The reason first: a crash before the move leaves a reason without its
    # file (refused again next pass), never a refused file without a reason.
    Path(f"{target}.reason").write_text(
        f"{getattr(refusal, 'code', 'refused')}: {refusal}\n", encoding="utf-8"
    )
    os.replace(path, target)
    logger.warning("refused %s: %s (moved to %s)", path, refusal, target)


def _move(path: Path, target: Path) -> None:
    """Move a received file aside; the target's name holds the same bytes."""
    target.parent.mkdir(exist_ok=True)
    # Gone already: another receiver moved it. The target may exist, with the
    # same bytes (its name is their hash), so replacing it changes nothing.
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, target)


def _receive(organisation_id, path: Path):
    # Before reading: a file too large is refused without being read.
    size_check(size=path.stat().st_size)
    with path.open("rb") as landed:
        # One byte more than allowed, so a file that grew since is refused.
        data = landed.read(settings.SETTLEMENT_FILE_MAX_BYTES + 1)
    return settlement_file_receive(
        organisation_id=organisation_id,
        data=data,
        content_type=LANDED_CONTENT_TYPE,
        source=SettlementFileSource.LANDING_FOLDER,
        original_name=path.name,
    )


def _land(organisation_id, folder: Path, path: Path, tally: LandingTally) -> None:
    """Receive one landed file and move it out of the way."""
    try:
        try:
            received, created = _receive(organisation_id, path)
        except FILE_REFUSALS as refusal:
            _refuse(folder, path, refusal)
            tally.refused += 1
            return
        _move(path, folder / RECEIVED_DIR / f"{received.sha256}.xml")
    except FileNotFoundError:
        return  # taken meanwhile by another receiver: theirs to report
    except Exception:
        logger.exception("receiving %s failed; it stays for the next pass", path)
        tally.failed += 1
        return
    if created:
        tally.received += 1
        logger.info("received %s as settlement file %s", path, received.id)
    else:
        tally.duplicates += 1
        logger.info("%s was received before, as settlement file %s", path, received.id)


def landing_pass(
    *,
    root: Path | None = None,
    stop: threading.Event | None = None,
    warned: set[str] | None = None,
) -> LandingTally:
    """Receive every complete file in every organisation's folder, once.

    A folder named after no organisation is logged (once per name in
    `warned`) and left alone. Once `stop` is set, the files not yet started
    are left for another pass.
    """
    root = Path(root or settings.SETTLEMENT_LANDING_DIR)
    tally = LandingTally()
    if not root.is_dir():
        return tally
    # Only folders with files ask the database: a pass runs every second, and
    # an empty landing folder costs PostgreSQL nothing.
    landed = {
        folder.name: (folder, files)
        for folder in sorted(root.iterdir())
        if is_complete(folder) and folder.is_dir() and not folder.is_symlink()
        if (files := _landed_files(folder))
    }
    if not landed:
        return tally
    organisations = dict(
        Organisation.objects.filter(slug__in=landed).values_list("slug", "id")
    )
    warned = set() if warned is None else warned
    for slug, (folder, files) in landed.items():
        if slug not in organisations:
            if slug not in warned:
                warned.add(slug)
                logger.warning("landing folder %s names no organisation", folder)
            continue
        for path in files:
            if stop is not None and stop.is_set():
                return tally
            _land(organisations[slug], folder, path, tally)
    return tally
