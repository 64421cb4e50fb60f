"""The words of each notification, built from the event payload alone."""

from contracts.currencies import format_amount


def _payment_line(data: dict) -> str:
    reference = f", reference {data['reference']!r}" if data["reference"] else ""
    return (
        f"{format_amount(data['amount'], data['currency'])} to "
        f"{data['creditor_name']} from {data['debtor_iban']}{reference}"
    )


def submitted_message(data: dict) -> tuple[str, str]:
    amount = format_amount(data["amount"], data["currency"])
    subject = f"Approval needed: {amount} to {data['creditor_name']}"
    body = (
        f"{data['submitted_by']['username']} submitted a payment of "
        f"{_payment_line(data)}.\n"
        "It is waiting for an approver other than the submitter.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def approved_message(data: dict) -> tuple[str, str]:
    amount = format_amount(data["amount"], data["currency"])
    subject = f"Approved: your payment of {amount} to {data['creditor_name']}"
    body = (
        f"{data['actor']['username']} approved your payment of "
        f"{_payment_line(data)}.\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body


def rejected_message(data: dict) -> tuple[str, str]:
    amount = format_amount(data["amount"], data["currency"])
    subject = f"Rejected: your payment of {amount} to {data['creditor_name']}"
    body = (
        f"{data['actor']['username']} rejected your payment of "
        f"{_payment_line(data)}.\n"
        f"Reason: {data['reason']}\n\n"
        f"Payment {data['payment_id']}"
    )
    return subject, body
