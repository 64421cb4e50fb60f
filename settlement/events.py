"""The event the settlement app emits when a file arrives, and its payload.

The payload names the file and where its bytes are (the hash), never the
bytes: a consumer reads them from the content store. It is a public contract,
contracts/schemas/SettlementFileReceived.v1.json.
"""

from events.models import OutboxMessage
from events.outbox import publish
from settlement.models import SettlementFile

SOURCE = "/settlement"
RECEIVED = "SettlementFileReceived"


def settlement_file_subject(file_id) -> str:
    """The event subject of a file.

    Prefixed, so it can never equal a payment's id: consumers keep one
    position per subject, and a bare UUID could be anything's.
    """
    return f"settlement-file/{file_id}"


def settlement_file_received_publish(
    *, settlement_file: SettlementFile
) -> OutboxMessage:
    """Write SettlementFileReceived to the outbox.

    Must run inside the transaction that inserted the file's row. A file is
    received once, so its event is its subject's sequence 1.
    """
    file = settlement_file
    return publish(
        event_type=RECEIVED,
        version=1,
        source=SOURCE,
        subject=settlement_file_subject(file.id),
        # One organisation's files stay in order for a consumer.
        partition_key=str(file.organisation_id),
        sequence=1,
        data={
            "file_id": str(file.id),
            "organisation_id": str(file.organisation_id),
            "sha256": file.sha256,
            "size": file.size,
            "content_type": file.content_type,
            "source": file.source,
            "received_at": file.received_at.isoformat(),
            "original_name": file.original_name or None,
        },
    )


def settlement_file_reprocess_requested_publish(
    *, settlement_file: SettlementFile, requested_by: str | None, at
) -> OutboxMessage:
    """Write SettlementFileReprocessRequested, the file's next event in sequence.

    Must run inside the transaction that counted the request on the file row.
    """
    file = settlement_file
    return publish(
        event_type="SettlementFileReprocessRequested",
        version=1,
        source=SOURCE,
        subject=settlement_file_subject(file.id),
        partition_key=str(file.organisation_id),
        # The received event is 1; the count already includes this request.
        sequence=1 + file.reprocess_requests,
        data={
            "file_id": str(file.id),
            "organisation_id": str(file.organisation_id),
            "sha256": file.sha256,
            "requested_at": at.isoformat(),
            "requested_by": requested_by,
        },
    )
