"""The health check before a request or a task asks the socket, not the server."""

import time

import psycopg
import pytest
from django.db import connection

from launcher.local import PG

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _observer() -> psycopg.Connection:
    return psycopg.connect(
        **PG, dbname=connection.settings_dict["NAME"], autocommit=True
    )


def test_a_healthy_idle_connection_is_checked_without_a_query():
    # given: the connection's last statement, as the server shows it
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement before the request ends'")

    # when: a request ends and the next starts (request_finished, request_started)
    connection.close_if_unusable_or_obsolete()
    connection.close_if_health_check_failed()

    # then: the same session, and the server saw no SELECT 1
    with _observer() as observer:
        last = observer.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()[0]
    assert last == "SELECT 'the last statement before the request ends'"
    assert connection.health_check_done
    assert _backend_pid() == pid


def test_a_session_the_server_ended_is_replaced_before_the_next_query():
    # given: a session the server terminated while it was idle
    pid = _backend_pid()
    connection.close_if_unusable_or_obsolete()
    with _observer() as observer:
        observer.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # until the backend has exited
            gone = not observer.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
            ).fetchall()
            if gone:
                break
            time.sleep(0.05)
        assert gone

    # when: the next request's first statement
    new_pid = _backend_pid()

    # then: it ran, on a new session, instead of failing on the dead one
    assert new_pid != pid
