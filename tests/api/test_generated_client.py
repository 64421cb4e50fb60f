"""A client generated from /api/v1/schema drives the whole story, as a caller's would.

openapi-python-client reads the document from the running app (pytest-django's
live server: real HTTP, in-process threads on the test database), and the story
runs through the generated functions and models only: a token, the accounts, a
submission, an approval by a second user, the payment's events, the ledger entry
the ledger consumer books, and a 409 read as a problem. No worker runs, so the
test applies the outbox's events with the ledger consumer itself, as its worker
would after the relay published them.
"""

import importlib
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from events.inbox import consume
from events.models import OutboxMessage
from ledger.consumer import CONSUMER as LEDGER
from ledger.models import JournalEntry
from payments.models import Payment
from settlement.models import SettlementFile
from tests.assertions import written_state
from tests.factories import VALID_CREDITOR_IBAN

PACKAGE = "payments_api_client"
# The settings docs/api.md tells callers to generate with.
GENERATOR_CONFIG = Path(__file__).resolve().parents[2] / "api/openapi-python-client.yml"


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch):
    """Generate the client from the live app's document; return an importer."""
    # The generator formats its output with `ruff` from PATH: this venv's, even
    # when the venv is not activated.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--url",
            f"{live_server.url}/api/v1/schema",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(GENERATOR_CONFIG),
            "--fail-on-warning",
        ],
        check=True,
        env=env,
        timeout=120,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda module: importlib.import_module(f"{PACKAGE}.{module}")
    for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
        del sys.modules[name]


@pytest.fixture
def sign_in(generated, live_server):
    """Return a function that signs a user in: an authenticated generated client."""
    client = generated("client")
    token_obtain = generated("api.auth.token_obtain")
    models = generated("models")
    opened = []

    def signed_in(username):
        anonymous = client.Client(base_url=live_server.url)
        opened.append(anonymous)
        token = token_obtain.sync(
            client=anonymous,
            body=models.TokenObtainRequest(username=username, password="demo-password"),
        )
        assert isinstance(token, models.Token), token
        opened.append(
            client.AuthenticatedClient(
                base_url=live_server.url, token=token.token, prefix="Token"
            )
        )
        return opened[-1]

    yield signed_in
    # A kept-alive connection keeps its server thread, and that thread's
    # database session, open: the test database could not be dropped.
    for each in opened:
        each.get_httpx_client().close()


def test_a_generated_client_drives_the_story(generated, sign_in, alice, bob, acme_eur):
    # given: the generated functions, under the names the document gives them
    accounts_list = generated("api.accounts.accounts_list")
    payments_submit = generated("api.payments.payments_submit")
    payments_approve = generated("api.payments.payments_approve")
    payment_events_list = generated("api.payments.payment_events_list")
    ledger_entries_list = generated("api.ledger.ledger_entries_list")
    models = generated("models")
    maker = sign_in("alice")
    checker = sign_in("bob")

    # when: the maker finds her account and submits a payment from it
    accounts = accounts_list.sync(client=maker)
    [account] = accounts.results
    submitted = payments_submit.sync(
        client=maker,
        idempotency_key=str(uuid.uuid4()),
        body=models.PaymentSubmitRequest(
            debtor_account=account.id,
            amount=12550,
            currency="EUR",
            creditor=models.CreditorRequest(
                name="Jane Supplier", iban=VALID_CREDITOR_IBAN
            ),
            reference="INV-1",
        ),
    )

    # then
    assert account.id == acme_eur.id
    assert isinstance(submitted, models.Payment), submitted
    assert submitted.status == models.PaymentStatusEnum.PENDING_APPROVAL
    assert Payment.objects.get(id=submitted.id).submitted_by == alice

    # when: a second user approves it
    approved = payments_approve.sync(client=checker, payment_id=submitted.id)

    # then: the approval and its event committed together
    assert approved.status == models.PaymentStatusEnum.APPROVED
    assert approved.approved_by == "bob"
    events = payment_events_list.sync(client=maker, payment_id=submitted.id)
    assert [(e.type_, e.sequence, e.state) for e in events.results] == [
        ("PaymentSubmitted", 1, "pending"),
        ("PaymentApproved", 2, "pending"),
    ]
    rows = OutboxMessage.objects.filter(subject=str(submitted.id)).order_by("sequence")
    assert [row.event_id for row in rows] == [e.id for e in events.results]

    # when: the ledger consumer applies the published events
    for row in rows:
        consume(consumer=LEDGER.name, envelope=row.envelope, handlers=LEDGER.handlers)
    entries = ledger_entries_list.sync(client=maker, payment=submitted.id)

    # then: the caller reads the entry the consumer booked
    [entry] = entries.results
    assert entry.id == JournalEntry.objects.get(payment_id=submitted.id).id
    assert entry.event_id == events.results[1].id
    assert sorted((line.direction.value, line.amount) for line in entry.lines) == [
        ("credit", 12550),
        ("debit", 12550),
    ]

    # when: the checker approves it again
    before = written_state()
    again = payments_approve.sync_detailed(client=checker, payment_id=submitted.id)

    # then: a 409 the client parses as a problem, and nothing changed
    assert again.status_code == 409
    problem = again.parsed
    assert isinstance(problem, models.Problem), again.content
    assert problem.status == 409
    assert problem.code == "payment-not-pending"
    assert problem.type_ == "/api/v1/problems/payment-not-pending"
    assert problem.detail
    assert written_state() == before


def test_a_generated_client_sends_a_statement_as_xml(generated, sign_in, bob):
    # given
    api = "api.settlement_files."
    settlement_files_receive = generated(api + "settlement_files_receive")
    settlement_files_retrieve = generated(api + "settlement_files_retrieve")
    types = generated("types")
    models = generated("models")
    checker = sign_in("bob")
    data = b'<?xml version="1.0"?><Document><BkToCstmrStmt/></Document>'

    # when: the raw statement, as the function's body
    sent = settlement_files_receive.sync_detailed(
        client=checker, body=types.File(payload=io.BytesIO(data))
    )
    again = settlement_files_receive.sync_detailed(
        client=checker, body=types.File(payload=io.BytesIO(data))
    )

    # then: received as XML once, the same file the second time
    assert sent.status_code == 201, sent.content
    assert again.status_code == 200, again.content
    file = sent.parsed
    assert isinstance(file, models.SettlementFile), sent.content
    assert file.content_type == "application/xml"
    assert file.size == len(data)
    assert again.parsed.id == file.id
    read = settlement_files_retrieve.sync(client=checker, file_id=file.id)
    assert read.status == models.SettlementFileStatusEnum.RECEIVED
    assert read.outcome_counts.matched == 0
    assert SettlementFile.objects.get().id == file.id
