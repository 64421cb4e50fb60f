"""What the run was measured on: cores, memory, CPU model, commit, software."""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from launcher.rabbitmqctl import rabbitmqctl

REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def commit_info() -> dict:
    """The short and full commit, and whether the work tree had local changes."""
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "short": _git("rev-parse", "--short", "HEAD") or "unknown",
        "full": _git("rev-parse", "HEAD") or "unknown",
        "dirty": bool(dirty),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _server_version(pg: dict) -> str:
    try:
        with psycopg.connect(**pg, dbname="postgres", connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        return "unknown"


def _rabbitmq_version() -> str:
    try:
        out = rabbitmqctl("version", timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out or "unknown"


def fault_runs() -> list[int]:
    """Pids of fault runs (bench.chaos) on this machine: they restart PostgreSQL
    and RabbitMQ, so nothing measured beside them means anything."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            raw = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if b"bench.chaos" in raw and b"python" in raw:
            pids.append(int(entry))
    return pids


def fault_runs_wait(limit_s: float) -> float:
    """Wait (at most `limit_s`) until no fault run is running; return seconds waited."""
    started = time.monotonic()
    while fault_runs() and time.monotonic() - started < limit_s:
        print("a fault run (bench.chaos) is running; waiting for it to end", flush=True)
        time.sleep(15)
    return time.monotonic() - started


def machine_basics() -> dict:
    """The machine alone: cores, memory, CPU model, kernel, Python."""
    return {
        "cores": os.cpu_count(),
        "memory_mib": _memory_mib(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
    }


def machine_info(pg: dict) -> dict:
    """The machine and the software versions the figures belong to."""
    import celery
    import django
    import kombu

    return {
        **machine_basics(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "postgresql": _server_version(pg),
        "rabbitmq": _rabbitmq_version(),
        "load_average_at_start": list(os.getloadavg()),
    }
