"""The words of each notification, built from the event payload alone.

Payload text is whatever a user typed (a creditor name, a username), so each
value goes through `one_line` before it is placed in a subject or a body line:
a subject becomes a mail header, where a line break would start a new header.
"""

import unicodedata

from contracts.currencies import format_amount

# Cc: control characters (line breaks included); Zl/Zp: Unicode line and
# paragraph separators. Each becomes a space, so the words stay apart.
_BREAKING = {"Cc", "Zl", "Zp"}
# Cf: invisible format characters (bidi overrides, zero-width spaces) that can
# make a name display as another; they carry nothing worth keeping.
_INVISIBLE = {"Cf"}


def one_line(text: str) -> str:
    """Return `text` on one line, without control or invisible format characters."""
    cleaned = "".join(
        " "
        if unicodedata.category(char) in _BREAKING
        else ""
        if unicodedata.category(char) in _INVISIBLE
        else char
        for char in text
    )
    return " ".join(cleaned.split())


def _money_and_creditor(data: dict) -> tuple[int, str, str]:
    """(amount, currency, creditor name) of a v1 payload or of PaymentApproved v2."""
    if isinstance(data["amount"], dict):
        amount = data["amount"]
        return amount["value"], amount["currency"], data["creditor"]["name"]
    return data["amount"], data["currency"], data["creditor_name"]


def _payment_line(data: dict) -> str:
    reference = f", reference {data['reference']!r}" if data["reference"] else ""
    return f"{_amount_to_creditor(data)} from {data['debtor_iban']}{reference}"


def _amount_to_creditor(data: dict) -> str:
    value, currency, creditor_name = _money_and_creditor(data)
    return f"{format_amount(value, currency)} to {one_line(creditor_name)}"


def _username(user: dict) -> str:
    return one_line(user["username"])


def submitted_message(data: dict) -> tuple[str, str]:
    subject = f"Approval needed: {_amount_to_creditor(data)}"
    body = (
        f"{_username(data['submitted_by'])} submitted a payment of "
        f"{_payment_line(data)}.\n"
        "It is waiting for an approver other than the submitter.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def approved_message(data: dict) -> tuple[str, str]:
    subject = f"Approved: your payment of {_amount_to_creditor(data)}"
    body = (
        f"{_username(data['actor'])} approved your payment of "
        f"{_payment_line(data)}.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def rejected_message(data: dict) -> tuple[str, str]:
    subject = f"Rejected: your payment of {_amount_to_creditor(data)}"
    body = (
        f"{_username(data['actor'])} rejected your payment of "
        f"{_payment_line(data)}.\n"
        f"Reason: {data['reason']}\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def cancelled_message(data: dict) -> tuple[str, str]:
    subject = f"Withdrawn: {_amount_to_creditor(data)}"
    body = (
        f"{_username(data['actor'])} withdrew the payment of "
        f"{_payment_line(data)}.\n"
        "It no longer needs your decision.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def mismatch_message(data: dict) -> tuple[str, str]:
    expected = format_amount(data["expected"]["value"], data["expected"]["currency"])
    booked = format_amount(data["booked"]["value"], data["booked"]["currency"])
    what = {
        "amount_mismatch": f"the bank booked {booked} for a payment of {expected}",
        "duplicate": f"a second statement line ({booked}) names a payment already "
        "settled",
    }[data["outcome"]]
    subject = f"Settlement exception: {what}"
    body = (
        f"Line {data['line']} of statement {data['file_id']}: {what}. Nothing was "
        "posted for it; please look.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def settled_message(data: dict) -> tuple[str, str]:
    amount = format_amount(data["amount"]["value"], data["amount"]["currency"])
    reference = (
        f" (bank reference {one_line(data['bank_reference'])})"
        if data["bank_reference"]
        else ""
    )
    subject = f"Settled: your payment of {amount}"
    body = (
        f"The bank booked your payment of {amount} on {data['booking_date']}"
        f"{reference}: it is paid.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body
