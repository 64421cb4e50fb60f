"""The demo's simulated bank: transfer files in, one statement per organisation out."""

from datetime import UTC, datetime

import pytest

from demo_bank.bank import statements_issue
from iso20022.camt053 import statement_read_all
from iso20022.pain001 import Party, Transfer, credit_transfer_build
from iso20022.schemas import schema_errors
from tests.factories import VALID_CREDITOR_IBAN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def folders(settings, tmp_path):
    settings.BANK_INBOUND_DIR = tmp_path / "inbound"
    settings.SETTLEMENT_LANDING_DIR = tmp_path / "landing"
    return tmp_path


def transfer_file(account, *amounts) -> bytes:
    return credit_transfer_build(
        message_id="M1",
        created_at=datetime(2026, 12, 4, 10, tzinfo=UTC),
        initiating_party="Acme Ltd",
        debtor=Party(name="Acme Ltd", iban=account.iban),
        requested_execution_date=datetime(2026, 12, 4).date(),
        transfers=[
            Transfer(
                end_to_end_id=f"{n:032x}",
                amount=amount,
                currency="EUR",
                creditor_name="Jane Supplier",
                creditor_iban=VALID_CREDITOR_IBAN,
                remittance=f"INV-{n}",
            )
            for n, amount in enumerate(amounts, start=1)
        ],
    )


def test_the_bank_books_each_transfer_into_the_organisations_landing_folder(
    settings, acme, acme_eur
):
    # given: a file the bank gateway transmitted
    inbound = settings.BANK_INBOUND_DIR / str(acme.id)
    inbound.mkdir(parents=True)
    (inbound / "M1.xml").write_bytes(transfer_file(acme_eur, 12550, 990))

    # when
    [issued] = statements_issue()

    # then: one valid camt.053 in acme's landing folder, a booked debit per transfer
    assert issued.path.parent == settings.SETTLEMENT_LANDING_DIR / "acme"
    data = issued.path.read_bytes()
    assert schema_errors(data, "camt.053.001.08") == []
    [header], lines = statement_read_all(data)
    assert header.account_iban == acme_eur.iban
    assert [(line.end_to_end_id, line.amount, line.direction) for line in lines] == [
        (f"{1:032x}", 12550, "debit"),
        (f"{2:032x}", 990, "debit"),
    ]
    # and the transfer file is booked once: the next run finds nothing new
    assert (inbound / "booked" / "M1.xml").is_file()
    assert statements_issue() == []


def test_the_lab_can_make_the_next_statement_carry_a_mistake_once(
    settings, acme, acme_eur
):
    from demo_bank.bank import next_statement_options_set
    from iso20022.bank_simulator import SimulatorOptions

    # given: the lab asked for a different amount in acme's next statement
    next_statement_options_set(acme.id, SimulatorOptions(amount_delta=1))
    inbound = settings.BANK_INBOUND_DIR / str(acme.id)
    (inbound / "M1.xml").write_bytes(transfer_file(acme_eur, 12550))

    # when
    [issued] = statements_issue()

    # then: that statement carries it, and the next one does not
    _, [line] = statement_read_all(issued.path.read_bytes())
    assert line.amount == 12551
    (inbound / "M2.xml").write_bytes(transfer_file(acme_eur, 990))
    [following] = statements_issue()
    _, [line] = statement_read_all(following.path.read_bytes())
    assert line.amount == 990
