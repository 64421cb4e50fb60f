"""pain.001.001.09 credit transfer files: build the one the app sends its bank,
and read one back (the simulated bank does).
docs/iso20022.md#sending-the-credit-transfer-file walks through it.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from iso20022.errors import CreditTransferInvalid, CreditTransferUnreadable
from iso20022.fields import (
    amount_check,
    amount_minor,
    amount_text,
    bic_check,
    currency_check,
    iban_check,
    iso_date,
    iso_datetime,
    text_check,
)
from iso20022.safe_xml import document_parse
from iso20022.schemas import schema
from iso20022.xml_nodes import DocumentWriter, el

__all__ = [
    "CreditTransferFile",
    "CreditTransferInvalid",
    "CreditTransferUnreadable",
    "Party",
    "Transfer",
    "credit_transfer_build",
    "credit_transfer_read",
]

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
MAX35, MAX140 = 35, 140


@dataclass(frozen=True)
class Party:
    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount: int  # minor units of `currency`
    currency: str
    creditor_name: str
    creditor_iban: str
    remittance: str  # the payment's reference, as RmtInf/Ustrd; "" sends none
    creditor_bic: str | None = None


@dataclass(frozen=True)
class CreditTransferFile:
    message_id: str
    created_at: datetime
    initiating_party: str | None
    debtor: Party
    requested_execution_date: date
    transfers: tuple[Transfer, ...]


def _party_check(party: Party, field: str) -> None:
    error = CreditTransferInvalid
    text_check(party.name, field=f"{field}.name", max_length=MAX140, error=error)
    iban_check(party.iban, field=f"{field}.iban", error=error)
    if party.bic is not None:
        bic_check(party.bic, field=f"{field}.bic", error=error)


def transfer_check(transfer: Transfer, field: str = "transfer") -> None:
    """Raise CreditTransferInvalid unless pain.001 can carry the transfer as it is."""
    error = CreditTransferInvalid
    text_check(
        transfer.end_to_end_id, field=f"{field}.end_to_end_id", max_length=MAX35,
        error=error,
    )  # fmt: skip
    currency_check(transfer.currency, field=f"{field}.currency", error=error)
    amount_check(
        transfer.amount, transfer.currency, field=f"{field}.amount", error=error
    )
    text_check(
        transfer.creditor_name, field=f"{field}.creditor_name", max_length=MAX140,
        error=error,
    )  # fmt: skip
    iban_check(transfer.creditor_iban, field=f"{field}.creditor_iban", error=error)
    if transfer.creditor_bic is not None:
        bic_check(transfer.creditor_bic, field=f"{field}.creditor_bic", error=error)
    if transfer.remittance:  # optional (RmtInf 0..1): a payment without a reference
        text_check(
            transfer.remittance, field=f"{field}.remittance", max_length=MAX140,
            error=error,
        )  # fmt: skip


def _agent(bic: str | None):
    # DbtrAgt is mandatory; without a BIC the EPC rulebook's NOTPROVIDED stands in.
    if bic is None:
        return el("FinInstnId", el("Othr", el("Id", "NOTPROVIDED")))
    return el("FinInstnId", el("BICFI", bic))


def _transaction(transfer: Transfer):
    return el(
        "CdtTrfTxInf",
        el("PmtId", el("EndToEndId", transfer.end_to_end_id)),
        el(
            "Amt",
            el(
                "InstdAmt",
                amount_text(transfer.amount, transfer.currency),
                Ccy=transfer.currency,
            ),
        ),
        # CdtrAgt is optional (0..1): left out when the creditor's BIC is unknown.
        el("CdtrAgt", _agent(transfer.creditor_bic)) if transfer.creditor_bic else None,
        el("Cdtr", el("Nm", transfer.creditor_name)),
        el("CdtrAcct", el("Id", el("IBAN", transfer.creditor_iban))),
        el("RmtInf", el("Ustrd", transfer.remittance)) if transfer.remittance else None,
    )


def credit_transfer_build(
    *,
    message_id: str,
    created_at: datetime,
    initiating_party: str,
    debtor: Party,
    requested_execution_date: date,
    transfers: Sequence[Transfer],
) -> bytes:
    """Return a pain.001.001.09 document (UTF-8) paying `transfers` from `debtor`.

    One PmtInf (its PmtInfId is the message id). Currencies may be mixed; CtrlSum
    is then the plain sum of the amounts as decimals, as the XSD defines it.
    Raise CreditTransferInvalid, naming the field, for anything the XSD would
    refuse (a text too long is refused, never truncated) and for a repeated
    EndToEndId, which would make the bank's statement ambiguous.
    """
    error = CreditTransferInvalid
    text_check(message_id, field="message_id", max_length=MAX35, error=error)
    text_check(
        initiating_party, field="initiating_party", max_length=MAX140, error=error
    )
    if not isinstance(created_at, datetime) or created_at.tzinfo is None:
        raise error("naive-datetime", "created_at must be a timezone-aware datetime")
    if not isinstance(requested_execution_date, date) or isinstance(
        requested_execution_date, datetime
    ):
        raise error("bad-date", "requested_execution_date must be a date")
    _party_check(debtor, "debtor")
    if not transfers:
        raise error(
            "no-transfers", "a credit transfer file needs at least one transfer"
        )
    seen: set[str] = set()
    for n, transfer in enumerate(transfers):
        transfer_check(transfer, f"transfers[{n}]")
        if transfer.end_to_end_id in seen:
            raise error(
                "duplicate-end-to-end-id",
                f"transfers[{n}].end_to_end_id {transfer.end_to_end_id!r} is repeated",
            )
        seen.add(transfer.end_to_end_id)
    count = str(len(transfers))
    control_sum = str(
        sum(Decimal(amount_text(t.amount, t.currency)) for t in transfers)
    )
    header = el(
        "GrpHdr",
        el("MsgId", message_id),
        el("CreDtTm", created_at.isoformat(timespec="seconds")),
        el("NbOfTxs", count),
        el("CtrlSum", control_sum),
        el("InitgPty", el("Nm", initiating_party)),
    )
    payment = el(
        "PmtInf",
        el("PmtInfId", message_id),
        el("PmtMtd", "TRF"),
        el("NbOfTxs", count),
        el("CtrlSum", control_sum),
        el("ReqdExctnDt", el("Dt", requested_execution_date.isoformat())),
        el("Dbtr", el("Nm", debtor.name)),
        el("DbtrAcct", el("Id", el("IBAN", debtor.iban))),
        el("DbtrAgt", _agent(debtor.bic)),
        el("ChrgBr", "SLEV"),
        *(_transaction(t) for t in transfers),
    )
    out = io.BytesIO()
    with DocumentWriter(out, NAMESPACE, "CstmrCdtTrfInitn") as document:
        document.write(header)
        document.write(payment)
    return out.getvalue()


def _root_check(name: str) -> None:
    if name != "Document":
        raise CreditTransferUnreadable(
            "not-pain001", f"the root is {name}, not Document"
        )


def credit_transfer_read(data: bytes) -> CreditTransferFile:
    """Read a pain.001.001.09 safely (no DTD, no entity, no network) and check it
    against the official XSD and its own NbOfTxs and CtrlSum, as a bank would.

    Raise CreditTransferUnreadable with reason not-xml, unsafe-xml, too-deep,
    not-pain001, not-valid (the XSD's complaint) or malformed (counts, amounts,
    several debtor accounts in one file).
    """
    error = CreditTransferUnreadable
    root = document_parse(data, error=error, root_check=_root_check)
    if root.tag != f"{{{NAMESPACE}}}Document":
        raise error("not-pain001", f"the document is {root.tag}, not a pain.001.001.09")
    checker = schema("pain.001.001.09")
    if not checker.validate(root):
        first = checker.error_log[0]
        raise error("not-valid", f"line {first.line}: {first.message}")
    try:
        return _file_from(root)
    except CreditTransferUnreadable:
        raise
    except ValueError as exc:  # a date or amount the XSD allows and Python not
        raise error("malformed", str(exc)) from None


def _file_from(root) -> CreditTransferFile:
    error = CreditTransferUnreadable
    ns = {"p": NAMESPACE}
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", ns)
    payments = root.findall("p:CstmrCdtTrfInitn/p:PmtInf", ns)
    debtors = {p.findtext("p:DbtrAcct/p:Id/p:IBAN", None, ns) for p in payments}
    if len(debtors) != 1 or None in debtors:
        raise error("malformed", "every PmtInf must debit the same IBAN account")
    transfers = []
    for tx in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", ns):
        amount = tx.find("p:Amt/p:InstdAmt", ns)
        if amount is None:
            raise error("malformed", "only InstdAmt amounts are supported")
        transfers.append(
            Transfer(
                end_to_end_id=tx.findtext("p:PmtId/p:EndToEndId", "", ns),
                amount=amount_minor(amount.text, amount.get("Ccy")),
                currency=amount.get("Ccy", ""),
                creditor_name=tx.findtext("p:Cdtr/p:Nm", "", ns),
                creditor_iban=tx.findtext("p:CdtrAcct/p:Id/p:IBAN", "", ns),
                remittance=" ".join(
                    u.text or "" for u in tx.iterfind("p:RmtInf/p:Ustrd", ns)
                ),
                creditor_bic=tx.findtext("p:CdtrAgt/p:FinInstnId/p:BICFI", None, ns),
            )
        )
    if header.findtext("p:NbOfTxs", None, ns) != str(len(transfers)):
        raise error("malformed", "GrpHdr/NbOfTxs does not count the transactions")
    control = header.findtext("p:CtrlSum", None, ns)
    total = sum(Decimal(amount_text(t.amount, t.currency)) for t in transfers)
    if control is not None and Decimal(control) != total:
        raise error("malformed", f"GrpHdr/CtrlSum {control} is not the sum {total}")
    first = payments[0]
    return CreditTransferFile(
        message_id=header.findtext("p:MsgId", "", ns),
        created_at=iso_datetime(header.findtext("p:CreDtTm", "", ns)),
        initiating_party=header.findtext("p:InitgPty/p:Nm", None, ns),
        debtor=Party(
            name=first.findtext("p:Dbtr/p:Nm", "", ns),
            iban=first.findtext("p:DbtrAcct/p:Id/p:IBAN", "", ns),
            bic=first.findtext("p:DbtrAgt/p:FinInstnId/p:BICFI", None, ns),
        ),
        requested_execution_date=_execution_date(first, ns),
        transfers=tuple(transfers),
    )


def _execution_date(payment, ns) -> date:
    day = payment.findtext("p:ReqdExctnDt/p:Dt", None, ns)
    if day is not None:
        return iso_date(day)
    return iso_datetime(payment.findtext("p:ReqdExctnDt/p:DtTm", "", ns)).date()
