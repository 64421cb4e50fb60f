#!/usr/bin/env bash
# The test command: lint, migrations check, app-boundary contracts, then pytest on
# SQLite and, when PostgreSQL is reachable (or REQUIRE_SERVICES=1), on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
source .venv/bin/activate
export PYTHONDONTWRITEBYTECODE=1
unset DATABASE_URL

echo "== ruff"
ruff check .
ruff format --check .
echo "== missing migrations"
python manage.py makemigrations --check --dry-run
echo "== app boundaries (import-linter)"
lint-imports --no-cache

PG_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/payments}
pg_up=$(python - "$PG_URL" <<'PY'
import sys
import psycopg
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
try:
    psycopg.connect(host=u.hostname, port=u.port or 5432, user=u.username,
                    password=u.password, dbname="postgres", connect_timeout=3).close()
    print("yes")
except Exception as exc:
    print(f"no ({exc.__class__.__name__})")
PY
)

workers=${PYTEST_WORKERS:-2}
if [ "$pg_up" = "yes" ]; then
  echo "== pytest on SQLite (PostgreSQL-only tests run in the next pass)"
  pytest -n "$workers" -m "not postgres" "$@"
  echo "== pytest on PostgreSQL ($PG_URL)"
  DATABASE_URL=$PG_URL pytest -n "$workers" "$@"
else
  if [ "${REQUIRE_SERVICES:-}" = "1" ]; then
    echo "REQUIRE_SERVICES=1 but PostgreSQL at $PG_URL is not reachable: $pg_up" >&2
    exit 1
  fi
  echo "== PostgreSQL at $PG_URL not reachable: $pg_up; its tests are SKIPPED"
  echo "== pytest on SQLite"
  pytest -n "$workers" "$@"
fi
