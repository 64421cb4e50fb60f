"""The settlement consumer's handlers: statements to process, payments to expect."""

from collections.abc import Callable

from events.envelope import Event
from settlement.expectations import HANDLERS_OF_PAYMENTS
from settlement.processing import settlement_file_process


def on_settlement_file_received(event: Event) -> None:
    """Process the statement the receiving half stored and announced."""
    settlement_file_process(file_id=event.data["file_id"])


def on_settlement_file_reprocess_requested(event: Event) -> None:
    """Process the stored file again; what was done stays done."""
    settlement_file_process(file_id=event.data["file_id"])


HANDLERS: dict[tuple[str, int], Callable[[Event], None]] = {
    **HANDLERS_OF_PAYMENTS,
    ("SettlementFileReceived", 1): on_settlement_file_received,
    ("SettlementFileReprocessRequested", 1): on_settlement_file_reprocess_requested,
}
