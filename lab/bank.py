"""The lab's bank controls: today's statement now, with the bank's mistakes on demand.

The simulated bank (demo_bank/) answers every transfer file within seconds on
its own; this asks it at once, or makes its next statement carry a mistake a
real bank sometimes makes: an entry with a different amount, a fee the app
never sent, one batch entry for all transfers, NOTPROVIDED instead of the
EndToEndId; or delivers the last statement a second time; or drops a
malformed file. Everything lands in the
organisation's landing folder, where the receiver picks it up as it would a
real bank's file. See docs/lessons/transfer-vs-processing.md#the-demo.
"""

from pathlib import Path

from demo_bank.bank import (
    landing_dir,
    next_statement_options_set,
    statement_deliver,
    statements_issue,
)
from iso20022.bank_simulator import SimulatorOptions
from organisations.models import Organisation

MALFORMED = b"<?xml version='1.0'?><Document><Stmt>cut off mid-transfer"


def _last_statement(organisation: Organisation) -> Path | None:
    """The newest statement the bank delivered (waiting, or received since)."""
    folder = landing_dir(organisation)
    found = [
        *folder.glob("camt053-*.xml"),
        *(folder / "received").glob("*.xml"),
    ]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def bank_statement_request(
    *,
    organisation_id,
    options: SimulatorOptions,
    again: bool = False,
    malformed: bool = False,
) -> dict:
    """Have the bank write a statement now (or resend the last, or a broken one)."""
    organisation = Organisation.objects.get(pk=organisation_id)
    if malformed:
        path = statement_deliver(organisation, MALFORMED)
        return {
            "files": [path.name],
            "detail": "A malformed file landed. Receiving stores it like any other "
            "(it never parses); processing rejects it with a typed reason.",
        }
    if again:
        last = _last_statement(organisation)
        if last is None:
            return {"files": [], "detail": "The bank has sent no statement yet."}
        path = statement_deliver(organisation, last.read_bytes())
        return {
            "files": [path.name],
            "detail": "The bank sent its last statement again, byte for byte: "
            "receiving finds the same SHA-256 and creates nothing new.",
        }
    if options != SimulatorOptions():
        next_statement_options_set(organisation.pk, options)
        return {
            "files": [],
            "detail": "The bank will make that mistake in its next statement for "
            "you: approve a payment, and after the cut-off its statement lands "
            "with it (or ask for today's statement now, if a transfer is waiting).",
        }
    issued = statements_issue(only=organisation)
    if not issued:
        return {
            "files": [],
            "detail": "No transfer file is waiting at the bank: approve a payment "
            "and wait for the bank gateway's cut-off, then ask again.",
        }
    return {
        "files": [i.path.name for i in issued],
        "detail": f"The bank booked {sum(i.transfer_files for i in issued)} transfer "
        "file(s) and wrote today's statement into your landing folder; the "
        "receiver picks it up within a second.",
    }
