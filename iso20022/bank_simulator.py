"""The demo's bank: book the credit transfers of pain.001 files and report them
in a camt.053.001.08 end-of-day statement, with the quirks real banks have.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from iso20022.camt053_build import (
    AccountStatement,
    EntryTransaction,
    ReportEntry,
    statement_build,
)
from iso20022.errors import CreditTransferUnreadable, SimulatorRefused
from iso20022.pain001 import Transfer, credit_transfer_read

__all__ = ["SimulatorOptions", "SimulatorRefused", "statement_for", "statements_for"]

CHARGE_CODE = ("ACMT", "MDOP", "CHRG")
NOT_PROVIDED = "NOTPROVIDED"
# The bank's cut-off: the statement is created at this UTC time on the booking day,
# so the same files and date give the same bytes.
STATEMENT_TIME = time(18, 0)


@dataclass(frozen=True)
class SimulatorOptions:
    amount_delta: int = 0  # minor units added to the first entry's amount
    bank_fee: int = 0  # > 0: a DBIT fee entry (ACMT/MDOP/CHRG) the app never sent
    batch: bool = False  # one Ntry per file and currency, one TxDtls per transfer
    end_to_end_not_provided: bool = False  # report NOTPROVIDED for every EndToEndId


def _payment_code(currency: str) -> tuple[str, str, str]:
    # A SEPA credit transfer in euro, a cross-border one otherwise.
    return ("PMNT", "ICDT", "ESCT" if currency == "EUR" else "XBCT")


def _detail(transfer: Transfer, reference: str, options: SimulatorOptions, amount):
    return EntryTransaction(
        amount=amount,
        end_to_end_id=NOT_PROVIDED
        if options.end_to_end_not_provided
        else transfer.end_to_end_id,
        bank_reference=reference,
        creditor_name=transfer.creditor_name,
        creditor_iban=transfer.creditor_iban,
        remittance=transfer.remittance or None,
    )


def _entries(
    transfers: list[tuple[int, Transfer]],
    digest: str,
    booking_date: date,
    options: SimulatorOptions,
) -> list[ReportEntry]:
    """The entries one file books on one account and currency, before options
    that touch the whole statement (amount_delta, bank_fee)."""

    def debit(amount: int, reference: str, currency: str, transactions) -> ReportEntry:
        return ReportEntry(
            amount=amount,
            direction="debit",
            booking_date=booking_date,
            value_date=booking_date,
            bank_reference=reference,
            bank_transaction_code=_payment_code(currency),
            transactions=transactions,
        )

    if options.batch:
        reference = f"SIM-{digest}-B{transfers[0][0]:05d}"
        details = tuple(
            _detail(t, f"SIM-{digest}-{n:05d}", options, t.amount) for n, t in transfers
        )
        total = sum(t.amount for _, t in transfers)
        return [debit(total, reference, transfers[0][1].currency, details)]
    return [
        debit(
            t.amount,
            f"SIM-{digest}-{n:05d}",
            t.currency,
            (_detail(t, f"SIM-{digest}-{n:05d}", options, None),),
        )
        for n, t in transfers
    ]


def _amount_shift(entry: ReportEntry, delta: int) -> ReportEntry:
    """The first entry booked with another amount, as a bank's error would be."""
    if entry.amount + delta <= 0:
        raise SimulatorRefused(
            "bad-delta", f"amount_delta {delta} leaves the first entry at or below 0"
        )
    first, *rest = entry.transactions
    if first.amount is not None:
        first = replace(first, amount=first.amount + delta)
    return replace(entry, amount=entry.amount + delta, transactions=(first, *rest))


def statements_for(
    *,
    pain001_files: Sequence[bytes],
    booking_date: date,
    opening_balances: Mapping[tuple[str, str], int] | None = None,
    opening_balance: int = 0,
    options: SimulatorOptions = SimulatorOptions(),
) -> bytes:
    """Return one camt.053.001.08 with one Stmt per debtor account and currency.

    Every transfer is booked as a DBIT on `booking_date` (its value date too).
    `opening_balances` maps (IBAN, currency) to signed minor units, for those
    it leaves out `opening_balance` stands;
    closing balances follow from the entries. The bank's references are derived
    from the files' bytes and the transfer's position, so the same input gives
    the same bytes. Raise SimulatorRefused for a file that is no valid pain.001
    or options that cannot apply.
    """
    if not pain001_files:
        raise SimulatorRefused("no-files", "the bank needs at least one pain.001")
    if options.bank_fee < 0:
        raise SimulatorRefused("bad-fee", "bank_fee is a positive amount or 0")
    balances = opening_balances or {}
    digest_all = hashlib.sha256()
    accounts: dict[tuple[str, str], list[ReportEntry]] = {}
    for data in pain001_files:
        try:
            file = credit_transfer_read(data)
        except CreditTransferUnreadable as exc:
            raise SimulatorRefused(
                exc.reason, f"the bank rejects the file: {exc}"
            ) from None
        digest = hashlib.sha256(data).hexdigest()[:10].upper()
        digest_all.update(digest.encode())
        groups: dict[str, list[tuple[int, Transfer]]] = {}
        for n, transfer in enumerate(file.transfers):
            groups.setdefault(transfer.currency, []).append((n, transfer))
        for currency, transfers in groups.items():
            entries = _entries(transfers, digest, booking_date, options)
            accounts.setdefault((file.debtor.iban, currency), []).extend(entries)
    keys = list(accounts)
    if options.amount_delta:
        first = accounts[keys[0]]
        first[0] = _amount_shift(first[0], options.amount_delta)
    tag = digest_all.hexdigest()[:10].upper()
    if options.bank_fee:
        accounts[keys[0]].append(
            ReportEntry(
                amount=options.bank_fee,
                direction="debit",
                booking_date=booking_date,
                value_date=booking_date,
                bank_reference=f"SIM-{tag}-FEE",
                bank_transaction_code=CHARGE_CODE,
            )
        )
    day = booking_date.strftime("%Y%m%d")
    statements = [
        AccountStatement(
            statement_id=f"STMT-{day}-{tag}-{k + 1}",
            account_iban=iban,
            currency=currency,
            opening_balance=balances.get((iban, currency), opening_balance),
            opening_date=booking_date,
            closing_date=booking_date,
            entries=tuple(accounts[(iban, currency)]),
        )
        for k, (iban, currency) in enumerate(keys)
    ]
    return statement_build(
        message_id=f"CAMT053-{day}-{tag}",
        created_at=datetime.combine(booking_date, STATEMENT_TIME, tzinfo=UTC),
        statements=statements,
    )


def statement_for(
    *,
    pain001: bytes,
    booking_date: date,
    opening_balance: int = 0,
    options: SimulatorOptions = SimulatorOptions(),
) -> bytes:
    """Return the camt.053.001.08 statement the bank sends for one pain.001.

    The debtor's account opens at `opening_balance` (in each currency the file
    pays in, one Stmt per currency). See statements_for.
    """
    return statements_for(
        pain001_files=[pain001],
        booking_date=booking_date,
        opening_balance=opening_balance,
        options=options,
    )
