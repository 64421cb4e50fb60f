"""PostgreSQL and RabbitMQ: restarted with their own service commands, and always
left running as they were found.

Both are shared with everything else on the machine (the run only owns a
database and a vhost in them), so every restart is short and `restore()` runs
in the run's `finally`, whatever happened.
"""

import contextlib
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from launcher.local import PG
from launcher.rabbitmqctl import rabbitmqctl

RABBITMQ_ADDRESS = ("127.0.0.1", 5672)


class InfrastructureError(RuntimeError):
    """A service command failed, or a service did not come back in time."""


def _run(*command: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed service commands, no shell
        command, capture_output=True, text=True, timeout=timeout, check=False
    )


def _wait(check, timeout: float, what: str) -> float:
    """Poll until `check()` holds; return how long it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise InfrastructureError(f"{what} not within {timeout:.0f}s")


# --- PostgreSQL -------------------------------------------------------------


def _cluster_version() -> str:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    if len(versions) != 1:
        raise InfrastructureError(f"expected one PostgreSQL cluster, found {versions}")
    return versions[0]


def postgres_ready() -> bool:
    return _run("pg_isready", "-q", "-h", PG["host"], timeout=10).returncode == 0


def postgres_started_at() -> str | None:
    """The postmaster's start time: it changes exactly when PostgreSQL restarted."""
    try:
        with psycopg.connect(**PG, dbname="postgres", connect_timeout=3) as conn:
            return str(conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0])
    except psycopg.Error:
        return None


def postgres_ctl(action: str, mode: str | None = None) -> None:
    command = [
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        *(["--mode", mode] if mode else []),
        _cluster_version(),
        "main",
        action,
    ]
    done = _run(*command)
    if done.returncode != 0:
        raise InfrastructureError(
            f"{' '.join(command)} failed: {done.stdout}{done.stderr}"
        )


@dataclass
class Restart:
    """What a restart did, as evidence that it really happened."""

    before: str | None
    after: str | None
    seconds_down: float  # from the restart command until the service answered

    @property
    def happened(self) -> bool:
        return self.before is not None and self.after not in (None, self.before)


def postgres_restart(mode: str, down_seconds: float) -> Restart:
    """Stop PostgreSQL (`fast`, or `immediate`: a crash), stay down, start it.

    A plain `restart` of this small cluster is over in about 0.3 s, too short for
    a consumer's transaction to notice; a failover or a crashed host is down for
    seconds, which is what the app has to ride out.
    """
    before = postgres_started_at()
    start = time.monotonic()
    postgres_ctl("stop", mode)
    time.sleep(down_seconds)
    postgres_ctl("start")
    _wait(postgres_ready, 60, "PostgreSQL accepting connections")
    after = postgres_started_at()
    return Restart(before, after, time.monotonic() - start)


@dataclass
class ReadOnlyWindow:
    seconds: float
    sqlstate: str | None  # what a write got while the window was open

    @property
    def refused_writes(self) -> bool:
        return self.sqlstate == "25006"


def _set_read_only(on: bool) -> None:
    with psycopg.connect(
        **PG, dbname="postgres", autocommit=True, connect_timeout=5
    ) as conn:
        conn.execute("SET default_transaction_read_only = off")  # this session
        if on:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
        conn.execute("SELECT pg_reload_conf()")


def _write_refused_with() -> str | None:
    """The SQLSTATE a write gets from a new session now (None: it succeeded)."""
    with psycopg.connect(
        **PG, dbname="postgres", autocommit=True, connect_timeout=5
    ) as conn:
        try:
            conn.execute("CREATE TABLE chaos_read_only_probe (id int)")
            conn.execute("DROP TABLE chaos_read_only_probe")
        except psycopg.Error as exc:
            return exc.sqlstate
    return None


def postgres_read_only(seconds: float) -> ReadOnlyWindow:
    """Make the server refuse writes for `seconds`, connections left open.

    ALTER SYSTEM plus a reload reaches every open session at its next statement,
    as a failover does to pooled connections still on the former primary; no
    connection drops, so only SQLSTATE 25006 tells the app what happened.
    """
    start = time.monotonic()
    _set_read_only(True)
    try:
        refused = None
        deadline = time.monotonic() + 5
        while refused is None and time.monotonic() < deadline:
            refused = _write_refused_with()
            if refused is None:
                time.sleep(0.05)
        time.sleep(max(0.0, seconds - (time.monotonic() - start)))
    finally:
        _set_read_only(False)
    return ReadOnlyWindow(seconds=time.monotonic() - start, sqlstate=refused)


def postgres_read_write() -> bool:
    """End a read-only window a run left behind; True if one was open."""
    try:
        with psycopg.connect(
            **PG, dbname="postgres", autocommit=True, connect_timeout=5
        ) as conn:
            conn.execute("SET default_transaction_read_only = off")
            left = conn.execute(
                "SELECT setting FROM pg_file_settings"
                " WHERE name = 'default_transaction_read_only' AND applied"
            ).fetchall()
    except psycopg.Error:
        return False
    if left:
        _set_read_only(False)
    return bool(left)


# --- RabbitMQ ---------------------------------------------------------------


def rabbitmq_port_open() -> bool:
    try:
        with socket.create_connection(RABBITMQ_ADDRESS, timeout=1):
            return True
    except OSError:
        return False


def _rabbitmqctl(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return rabbitmqctl(*args, timeout=timeout, check=False)


def rabbitmq_node_running() -> bool:
    """The Erlang node answers (its RabbitMQ application may still be stopped)."""
    return _rabbitmqctl("status", timeout=30).returncode == 0


def rabbitmq_ready() -> bool:
    return rabbitmq_node_running() and rabbitmq_port_open()


def _rabbitmq_os_pid() -> str | None:
    done = _rabbitmqctl("eval", "os:getpid().", timeout=30)
    if done.returncode != 0:
        return None
    return done.stdout.strip().strip('"') or None


def _rabbitmq_start_node() -> None:
    # -detached returns at once; the node boots in the background.
    done = _run("rabbitmq-server", "-detached", timeout=60)
    if done.returncode != 0:
        raise InfrastructureError(f"rabbitmq-server -detached: {done.stderr}")


def rabbitmq_restart(mode: str, down_seconds: float) -> Restart:
    """Restart RabbitMQ: its application (`app`) or the whole Erlang node (`node`).

    Evidence is the broker port refusing connections while it is down, and for
    a node restart the changed OS process id.
    """
    before = _rabbitmq_os_pid() if mode == "node" else "port open"
    start = time.monotonic()
    stop = _rabbitmqctl("stop" if mode == "node" else "stop_app")
    if stop.returncode != 0:
        raise InfrastructureError(f"stopping RabbitMQ failed: {stop.stderr}")
    closed = not rabbitmq_port_open()
    time.sleep(down_seconds)
    if mode == "node":
        _rabbitmq_start_node()
        _wait(rabbitmq_node_running, 60, "RabbitMQ node")
    started = _rabbitmqctl("start_app") if mode == "app" else None
    if started is not None and started.returncode != 0:
        raise InfrastructureError(f"start_app failed: {started.stderr}")
    _rabbitmqctl("await_startup", timeout=60)
    _wait(rabbitmq_port_open, 60, "RabbitMQ accepting connections")
    if mode == "node":
        after = _rabbitmq_os_pid()
    else:
        after = "port closed, then open again" if closed else None
    return Restart(before, after, time.monotonic() - start)


# --- As found ---------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    postgres: bool
    rabbitmq: bool


def found() -> Found:
    return Found(postgres=postgres_ready(), rabbitmq=rabbitmq_ready())


def postgres_ensure() -> bool:
    """Start PostgreSQL if it is down; return True if it had to be started."""
    if postgres_ready():
        return False
    with contextlib.suppress(InfrastructureError):
        postgres_ctl("start")
    _wait(postgres_ready, 60, "PostgreSQL accepting connections")
    return True


def rabbitmq_ensure() -> bool:
    """Start RabbitMQ (its application, or the node) if it is down."""
    if rabbitmq_ready():
        return False
    if rabbitmq_node_running():
        _rabbitmqctl("start_app")
    else:
        _rabbitmq_start_node()
        _wait(rabbitmq_node_running, 60, "RabbitMQ node")
        _rabbitmqctl("start_app")
    _rabbitmqctl("await_startup", timeout=60)
    _wait(rabbitmq_port_open, 60, "RabbitMQ accepting connections")
    return True


def restore(as_found: Found) -> list[str]:
    """Bring back whatever was running when the run started; say what was done."""
    notes = []
    if as_found.postgres and postgres_read_write():
        notes.append("PostgreSQL was left read-only and was made writable again")
    for name, was_up, ensure in (
        ("PostgreSQL", as_found.postgres, postgres_ensure),
        ("RabbitMQ", as_found.rabbitmq, rabbitmq_ensure),
    ):
        if not was_up:
            continue
        try:
            if ensure():
                notes.append(f"{name} was down at the end and was started again")
        except (InfrastructureError, subprocess.SubprocessError) as exc:
            notes.append(f"{name} could NOT be started again: {exc}")
    return notes
