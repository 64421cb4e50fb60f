"""On PostgreSQL each process's sessions carry its name (OTEL_SERVICE_NAME)."""

import os
from urllib.parse import urlsplit

import pytest

from tests.config.settings_process import manage, process_env

pytestmark = pytest.mark.postgres

SHOW = (
    "from django.db import connection; c = connection.cursor(); "
    "c.execute('SELECT application_name FROM pg_stat_activity "
    "WHERE pid = pg_backend_pid()'); print(c.fetchone()[0])"
)


@pytest.mark.parametrize(
    ("variables", "name"),
    [({"OTEL_SERVICE_NAME": "ledger-worker"}, "ledger-worker"), ({}, "payments")],
    ids=["named", "unnamed"],
)
def test_the_server_sees_which_process_a_session_belongs_to(tmp_path, variables, name):
    # The server's own database: the session is all this looks at.
    server = urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres").geturl()
    env = process_env(tmp_path, DATABASE_URL=server, **variables)
    if not variables:
        env.pop("OTEL_SERVICE_NAME", None)

    done = manage(env, "shell", "-c", SHOW)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == name
