"""What the camt.053 reader yields: a Statement header, then its StatementLines."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

# Sub-families of the ISO bank transaction codes that are the bank's own charges.
CHARGE_SUBFAMILIES = frozenset({"CHRG", "FEES", "COMM", "COME", "COMI", "COMT"})


@dataclass(frozen=True)
class Statement:
    """One Stmt's header; it comes before that statement's lines."""

    version: str  # "001.02" or "001.08"
    message_id: str  # GrpHdr/MsgId
    statement_id: str  # Stmt/Id
    created_at: datetime | None  # Stmt/CreDtTm, else GrpHdr/CreDtTm
    account_iban: str | None  # Acct/Id/IBAN
    currency: str | None  # Acct/Ccy, else the opening balance's
    opening_balance: int | None  # OPBD (else PRCD), signed minor units
    opening_date: date | None
    closing_balance: int | None  # CLBD, signed minor units
    closing_date: date | None


@dataclass(frozen=True)
class StatementLine:
    """One transaction: a TxDtls of an Ntry, or an Ntry that has none."""

    index: int  # 0-based position among the file's lines
    entry_index: int  # 0-based position of its Ntry in the file (a batch shares it)
    statement_id: str
    entry_reference: str | None  # Ntry/NtryRef
    bank_reference: str | None  # TxDtls/Refs/AcctSvcrRef, else Ntry/AcctSvcrRef
    end_to_end_id: str | None  # None when absent or NOTPROVIDED
    amount: int  # minor units, positive
    currency: str
    direction: Literal["debit", "credit"]
    status: str  # BOOK, PDNG, INFO, ...
    booking_date: date | None
    value_date: date | None
    creditor_name: str | None
    creditor_iban: str | None
    debtor_name: str | None
    debtor_iban: str | None
    remittance: str | None  # RmtInf/Ustrd, joined by spaces
    domain: str | None  # BkTxCd/Domn/Cd, e.g. PMNT or ACMT
    family: str | None  # e.g. ICDT or MDOP
    subfamily: str | None  # e.g. ESCT or CHRG

    @property
    def booked(self) -> bool:
        return self.status == "BOOK"

    @property
    def is_bank_charge(self) -> bool:
        """A fee the bank took itself (ACMT/MDOP/CHRG and the like): no payment."""
        return self.subfamily in CHARGE_SUBFAMILIES
