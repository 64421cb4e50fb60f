"""gunicorn's settings for the web service (`gunicorn -c config/gunicorn.py`).

Only the hooks of Prometheus's multiprocess mode (api/metrics.py): each worker
process writes its metric values to files in PROMETHEUS_MULTIPROC_DIR, which
must start empty (values of a previous run would be added in) and forget a
dead worker's live gauges. Bind address, workers and threads stay on the
command line in docker-compose.yml, where the rest of the process list is.
"""

import os
import shutil
from pathlib import Path

from prometheus_client import multiprocess


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
