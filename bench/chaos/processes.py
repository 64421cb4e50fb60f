"""The stack's long-running processes during a fault run.

They are started from the docker-compose.yml process list (launcher.compose), like
launcher.local does, but with their output going straight to a log file per
service: the logs are the run's evidence, and a pipe that the busy harness
drains too slowly would stall a worker on a full pipe buffer.

The supervisor kills processes on purpose (and remembers that it did), and
watches for any process that exits when nobody killed it: such a death is an
app finding that FAILS the run. It restarts the dead process so the run can
still drain and be checked, and keeps the log tail as evidence.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from launcher.local import Stack
from launcher.runner import Running, service_env

LONG_RUNNING = (
    "web",
    "relay",
    "ledger-worker",
    "notifications-worker",
    "reconciliation-worker",
    # Sends the e-mails the notifications worker records (NOTIFICATION_EMAIL_SENDER
    # is "mailer" in docker-compose.yml): without it none would leave.
    "mailer",
)
WORKERS = ("ledger-worker", "notifications-worker", "reconciliation-worker")
# The consumers the fault run drives and checks: the payment pipeline's three.
# Its stack is told to declare only theirs (EVENT_CONSUMERS), so no queue fills
# for a consumer it does not run; the settlement loop is not under fault yet.
CONSUMERS = tuple(worker.removesuffix("-worker") for worker in WORKERS)


def consumer_of(worker: str) -> str:
    return worker.removesuffix("-worker")


@dataclass
class Death:
    """A process that exited while nobody was killing it."""

    service: str
    pid: int
    returncode: int | None
    at: float
    log_tail: str


@dataclass
class Supervisor:
    stack: Stack
    log_dir: Path
    deaths: list[Death] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)
    _down: set[str] = field(default_factory=set)  # killed on purpose, not yet back
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _command(self, name: str) -> list[str]:
        # Console scripts and `python` from this interpreter's environment, as
        # launcher.runner does for the e2e tests.
        command = self.stack.services[name].command
        if command[0] == "python":
            return [sys.executable, *command[1:]]
        candidate = Path(sys.executable).parent / command[0]
        return [str(candidate) if candidate.exists() else command[0], *command[1:]]

    def start(self, name: str) -> Running:
        with self._lock:
            service = self.stack.services[name]
            log = self.log_path(name).open("a")
            log.write(f"==== chaos: starting {name} at {time.strftime('%T')}\n")
            log.flush()
            process = subprocess.Popen(  # noqa: S603 - the compose command list
                self._command(name),
                cwd=settings.BASE_DIR,
                env=service_env(service, self.stack.overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )
            log.close()  # the child holds its own copy of the descriptor
            running = Running(service, process)
            self.stack.running[name] = running
            self.starts[name] = self.starts.get(name, 0) + 1
            self._down.discard(name)
            return running

    def start_all(self) -> None:
        for name in LONG_RUNNING:
            self.start(name)

    def pid(self, name: str) -> int:
        return self.stack.running[name].process.pid

    def expect_down(self, name: str) -> None:
        """Note that `name` is about to be killed on purpose (by another process)."""
        with self._lock:
            self._down.add(name)

    def kill(self, name: str) -> int | None:
        """SIGKILL the service's whole process group: a crash, not a shutdown.

        Returns the exit status seen (-9 proves the kill landed).
        """
        with self._lock:
            self._down.add(name)
            running = self.stack.running[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(running.process.pid, signal.SIGKILL)
        return running.process.wait(timeout=30)

    def children(self, name: str) -> list[int]:
        """The direct children of the service's main process (a Celery pool)."""
        done = subprocess.run(  # noqa: S603
            ["ps", "-o", "pid=", "--ppid", str(self.pid(name))],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(pid) for pid in done.stdout.split()]

    def alive(self, name: str) -> bool:
        running = self.stack.running.get(name)
        return running is not None and running.process.poll() is None

    def log_tail(self, name: str, lines: int = 60) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return ""
        return "".join(text.splitlines(keepends=True)[-lines:])

    # --- watching for deaths nobody caused ---------------------------------

    def check_once(self) -> None:
        with self._lock:
            for name in LONG_RUNNING:
                running = self.stack.running.get(name)
                if running is None or name in self._down:
                    continue
                code = running.process.poll()
                if code is None:
                    continue
                self.deaths.append(
                    Death(
                        name,
                        running.process.pid,
                        code,
                        time.time(),
                        self.log_tail(name),
                    )
                )
                self.start(name)

    def watch(self) -> threading.Thread:
        def loop():
            while not self._stop.wait(0.5):
                self.check_once()

        thread = threading.Thread(target=loop, name="supervisor", daemon=True)
        thread.start()
        return thread

    def stop_watching(self) -> None:
        self._stop.set()

    def ensure_all_running(self) -> list[str]:
        """Heal: start anything down (a death is recorded by check_once first)."""
        self.check_once()
        started = []
        with self._lock:
            for name in LONG_RUNNING:
                if not self.alive(name):
                    self.start(name)
                    started.append(name)
        return started
