"""Start the stack's processes, prefix their output, and stop them all together."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from launcher.compose import Service


@dataclass
class Running:
    service: Service
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)


def service_env(service: Service, overrides: dict[str, str | None]) -> dict[str, str]:
    """The service's compose environment, with overrides (None removes a variable)."""
    env = {**os.environ, **service.environment}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _command(service: Service) -> list[str]:
    # Run console scripts from this interpreter's environment, wherever it lives.
    bin_dir = os.path.dirname(sys.executable)
    first = service.command[0]
    if first == "python":
        return [sys.executable, *service.command[1:]]
    candidate = os.path.join(bin_dir, first)
    return [candidate if os.path.exists(candidate) else first, *service.command[1:]]


def service_start(
    service: Service, overrides: dict[str, str | None], echo: bool = True
) -> Running:
    """Start one service in its own process group, streaming its prefixed output."""
    process = subprocess.Popen(  # noqa: S603 - our own command list
        _command(service),
        cwd=settings.BASE_DIR,
        env=service_env(service, overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Running(service, process)

    def pump():
        for line in process.stdout:
            running.output.append(line)
            del running.output[:-500]  # keep the tail only
            if echo:
                sys.stdout.write(f"{service.name:>22} | {line}")
                sys.stdout.flush()

    threading.Thread(target=pump, daemon=True).start()
    return running


def services_stop(runnings: list[Running], timeout: float = 15.0) -> None:
    """Stop services together: SIGTERM each main process, then SIGKILL leftovers.

    Only the main process gets SIGTERM, so gunicorn and Celery shut their own
    children down gracefully; whatever still runs at the deadline is killed.
    """
    for running in runnings:
        if running.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                running.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for running in runnings:
        while running.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # Children outlive a main process that died; never leave them behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(running.process.pid, signal.SIGKILL)
        running.process.wait()


def service_stop(running: Running, timeout: float = 15.0) -> int | None:
    """Stop one service gracefully (see services_stop); return its exit code."""
    services_stop([running], timeout)
    return running.process.returncode


def service_kill(running: Running) -> None:
    """SIGKILL the whole process group at once: a crash, not a shutdown."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(running.process.pid, signal.SIGKILL)
    running.process.wait()
