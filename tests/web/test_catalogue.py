"""The event catalogue pages: every type, and a type's versions side by side with
what changed, the upcaster, the samples, the producer and the readers."""

import html
import re

import pytest

from contracts.catalogue import schema_of
from contracts.schema_fields import Change, fields_diff, schema_fields

pytestmark = pytest.mark.django_db


def row(page: str, path: str) -> str:
    return page.split(f'<tr data-field="{path}">', 1)[1].split("</tr>", 1)[0]


def states(page: str, path: str) -> list[str]:
    return re.findall(r'data-state="([a-z]+)"', row(page, path))


def test_the_index_lists_every_event_type_with_its_versions(client):
    # when
    page = client.get("/catalogue/").content.decode()

    # then
    assert re.findall(r'data-event-type="(\w+)"', page) == [
        "PaymentApproved",
        "PaymentCancelled",
        "PaymentRejected",
        "PaymentReleased",
        "PaymentSettled",
        "PaymentSubmitted",
        "SettlementFileReceived",
        "SettlementFileReprocessRequested",
        "SettlementMismatchDetected",
    ]
    approved = page.split('data-event-type="PaymentApproved"', 1)[1].split("</li>")[0]
    assert "v1</span>" in approved and "v2</span>" in approved
    assert "<strong>payments</strong>" in approved
    assert "<strong>ledger</strong>, <strong>notifications</strong>" in approved
    assert 'href="/catalogue/PaymentApproved/"' in page
    assert 'href="/api/v1/asyncapi.json"' in page


def test_payment_approved_shows_v1_and_v2_side_by_side_with_the_changes(client):
    # when
    page = client.get("/catalogue/PaymentApproved/").content.decode()

    # then: the columns, one per version
    head = page.split('<table class="table versions-table">', 1)[1].split("</thead>")[0]
    assert re.findall(r"<th scope=\"col\">(v\d)", head) == ["v1", "v2"]
    # amount: integer in v1, an object in v2
    assert states(page, "amount") == ["same", "changed"]
    assert "was integer" in row(page, "amount")
    # the creditor is new, its name no longer a field of its own
    assert states(page, "creditor") == ["absent", "added"]
    assert states(page, "creditor.iban") == ["absent", "added"]
    assert states(page, "creditor_name") == ["same", "removed"]
    assert "<del>string</del>" in row(page, "creditor_name")
    assert states(page, "payment_id") == ["same", "same"]
    # a field new in v2 is shown under its parent, not at the end
    fields = re.findall(r'<tr data-field="([\w.]+)">', page)
    assert fields[fields.index("amount") + 1 : fields.index("amount") + 3] == [
        "amount.value",
        "amount.currency",
    ]
    step = page.split('data-step="v1-v2"', 1)[1].split("</section>", 1)[0]
    assert 'data-change="changed:amount"' in step
    assert "integer → object" in html.unescape(step)
    assert 'data-change="added:creditor"' in step
    assert 'data-change="removed:creditor_name"' in step
    assert 'data-change="added:approved_at"' in step


def test_the_upcaster_links_to_its_source(client):
    # when
    page = client.get("/catalogue/PaymentApproved/").content.decode()

    # then
    [link] = re.findall(
        r'<a class="mono" href="([^"]+)">_payment_approved_v1_to_v2</a>', page
    )
    assert link.startswith("/source/contracts/upcasters.py?lines=")
    source = client.get(html.unescape(link)).content.decode()
    assert "def _payment_approved_v1_to_v2" in html.unescape(
        re.sub(r"<[^>]+>", "", source)
    )


def test_each_version_shows_its_valid_samples_pretty_printed(client):
    page = client.get("/catalogue/PaymentApproved/").content.decode()

    v1 = page.split('data-samples="v1"', 1)[1].split("</div>", 1)[0]
    v2 = page.split('data-samples="v2"', 1)[1].split("</div>", 1)[0]
    assert "an approval by another user" in v1
    assert '"creditor_name": "Initech Supplies"' in html.unescape(v1)
    assert '"amount": {\n' in html.unescape(v2)
    assert '"iban": "GB33BUKB20201555555555"' in html.unescape(v2)


def test_the_readers_and_the_versions_they_read(client):
    page = client.get("/catalogue/PaymentApproved/").content.decode()

    ledger = page.split('<tr data-reader="ledger">', 1)[1].split("</tr>", 1)[0]
    assert "v1 (upcast to v2)" in ledger
    assert "v2 (its handler)" in ledger
    assert "books a pending journal entry" in ledger
    assert 'data-reader="reconciliation"' in page
    assert "Published by <strong>payments</strong>" in page


def test_a_type_with_one_version_has_no_step(client):
    page = client.get("/catalogue/PaymentSubmitted/").content.decode()

    assert "data-step=" not in page
    assert 'data-reader="notifications"' in page
    assert 'data-reader="ledger"' not in page


def test_an_unknown_type_is_not_found(client):
    response = client.get("/catalogue/PaymentTeleported/")

    assert response.status_code == 404
    assert "No event type PaymentTeleported" in response.content.decode()


def test_the_catalogue_is_in_the_signed_in_navigation(alice, browser_for):
    page = browser_for(alice).get("/catalogue/").content.decode()

    nav = page.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/catalogue/" aria-current="page">Event catalogue</a>' in nav


def test_the_diff_of_payment_approved_v1_to_v2():
    # given
    v1, v2 = (schema_fields(schema_of("PaymentApproved", v)) for v in (1, 2))

    # when
    changes = fields_diff(v1, v2)

    # then
    assert Change("amount", "changed", before="integer", after="object") in changes
    assert Change("creditor", "added", after="object") in changes
    assert Change("creditor.iban", "added", after="string | null") in changes
    assert Change("creditor_name", "removed", before="string") in changes
    assert Change("currency", "removed", before="string") in changes
    assert Change("approved_at", "added", after="string (date-time)") in changes
    assert not any(c.path == "payment_id" for c in changes)


def test_a_field_becoming_optional_is_a_change():
    before = schema_fields({"required": ["a"], "properties": {"a": {"type": "string"}}})
    after = schema_fields({"properties": {"a": {"type": "string"}}})

    assert fields_diff(before, after) == [
        Change("a", "changed", before="string, required", after="string, optional")
    ]


def test_the_docs_index_links_to_the_catalogue(client):
    page = client.get("/docs/").content.decode()

    assert '<a href="/catalogue/">event catalogue</a>' in page
