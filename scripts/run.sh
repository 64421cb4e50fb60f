#!/usr/bin/env bash
# The run command: set up .venv, then run the whole app in embedded mode (SQLite and a
# broker that needs no server) with demo users. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
export DEMO_MODE=1
exec .venv/bin/python manage.py demo "$@"
