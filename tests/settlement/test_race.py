"""Concurrent uploads of one statement, on real PostgreSQL: one file, one event.

Real threads, each with its own client and database connection, released
together: each stores the bytes and inserts, and the unique constraint on
(organisation, sha256) lets one insert win; the others answer with its file.
"""

import pytest

from events.models import OutboxMessage
from settlement.models import SettlementFile
from tests.concurrency import all_at_once
from tests.settlement.conftest import blobs, statement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_identical_uploads_at_once_make_one_file_and_one_event(
    client_for, store_dir, bob, carol
):
    # given
    data = statement()
    clients = [client_for(bob if n % 2 else carol) for n in range(8)]

    def upload(client):
        return client.post(
            "/api/v1/settlement-files", data=data, content_type="application/xml"
        )

    # when
    responses = all_at_once([lambda c=client: upload(c) for client in clients])

    # then: one 201, the rest 200, all naming the one file
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    [file] = SettlementFile.objects.all()
    assert {r.json()["id"] for r in responses} == {str(file.id)}
    [event] = OutboxMessage.objects.all()
    assert event.envelope["data"]["file_id"] == str(file.id)
    assert blobs(store_dir) == [file.sha256]


def test_two_organisations_at_once_each_get_their_file(
    client_for, store_dir, bob, gina
):
    # given
    data = statement()

    clients = [client_for(bob), client_for(gina)]

    # when
    responses = all_at_once(
        [
            lambda c=client: c.post(
                "/api/v1/settlement-files", data=data, content_type="text/xml"
            )
            for client in clients
        ]
    )

    # then
    assert [r.status_code for r in responses] == [201, 201]
    assert SettlementFile.objects.count() == OutboxMessage.objects.count() == 2
