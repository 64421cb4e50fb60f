"""The bench stands in for a server's autovacuum that is off."""

from types import SimpleNamespace

import pytest
from django.db import connection

from bench.probe import Probe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_with_autovacuum_off_the_probe_vacuums_and_analyses_the_database():
    # given
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    probe = Probe(SimpleNamespace(name=connection.settings_dict["NAME"]))

    # when
    try:
        vacuumed = probe.autovacuum_stands_in()
    finally:
        probe.close()

    # then: only when the server would not; then every table was vacuumed
    assert vacuumed is (autovacuum == "off")
    if vacuumed:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL"
                " FROM pg_stat_user_tables WHERE relname = 'events_outboxmessage'"
            )
            assert cursor.fetchone() == (True, True)
