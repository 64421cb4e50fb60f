"""Run `manage.py demo` as a user would, for the tests that drive it end to end."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from launcher.local import free_port


@dataclass
class Demo:
    base: str
    process: subprocess.Popen
    log: Path


@contextlib.contextmanager
def demo_running(var_dir: Path):
    """Start the embedded demo on a free port with its own VAR_DIR; stop it after.

    The environment drops DATABASE_URL and the broker URL, so the demo runs on
    SQLite and the filesystem broker whatever the test run uses.
    """
    port = free_port()
    env = {**os.environ, "DEMO_MODE": "1", "VAR_DIR": str(var_dir)}
    env["PYTHONUNBUFFERED"] = "1"
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "TEST_DB_SUFFIX"):
        env.pop(key, None)
    log_path = var_dir / "demo.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    demo = Demo(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(demo.base + "/sign-in", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the demo did not start:\n" + log_path.read_text())
            time.sleep(0.3)
        yield demo
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
