"""CPU time and peak memory of process groups, read from /proc.

Each stack service runs in its own session (launcher.runner starts it with
start_new_session), so its process group holds the leader and every child
(gunicorn workers, Celery pool processes). CPU is utime+stime plus the times of
reaped children; peak memory is each process's VmHWM.
"""

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    pgrp: int
    uid: int
    name: str
    cpu_ticks: int
    reaped_ticks: int  # the times of its exited, reaped children alone


def _stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        uid = Path(f"/proc/{pid}").stat().st_uid
    except OSError:
        return None
    # The command name sits in parentheses and may itself hold spaces.
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        uid=uid,
        name=name,
        cpu_ticks=utime + stime + cutime + cstime,
        reaped_ticks=cutime + cstime,
    )


def all_processes() -> list[ProcStat]:
    stats = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            stats.append(stat)
    return stats


def _uid(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _member(proc: ProcStat, key) -> bool:
    if isinstance(key, int):
        return proc.pgrp == key
    _, uid, needles = key  # ("uid" or "reaped", uid, substrings or None)
    if proc.uid != uid:
        return False
    if not needles:
        return True
    title = _cmdline(proc.pid)
    return any(needle in title for needle in needles)


def group_pids(groups: dict, processes: list[ProcStat]) -> dict[str, list]:
    """Map each named group to its pids.

    A group is a process-group id, or ("uid", uid, substrings): the processes of
    a system user whose title holds one of the substrings (all of them if None).
    """
    found: dict[str, list] = {name: [] for name in groups}
    for proc in processes:
        for name, key in groups.items():
            if _member(proc, key):
                found[name].append(proc.pid)
    return found


def server_groups(database: str) -> dict:
    """The machine's PostgreSQL and RabbitMQ servers, all of each; and this run's
    PostgreSQL backends.

    Backends of short-lived connections (DB_CONN_MAX_AGE=0) exit within a phase:
    their CPU then lands in the postmaster's reaped-children times, so only the
    whole server (every database on it, other users' too) counts it. The
    backends of `database` alive at a phase's end are counted on their own: a
    lower bound, exact when connections persist.
    """
    groups = {}
    for name, user in ((PG_SERVER, "postgres"), ("rabbitmq", "rabbitmq")):
        uid = _uid(user)
        if uid:
            groups[name] = ("uid", uid, None)
    if uid := _uid("postgres"):
        groups[PG_BACKENDS] = ("uid", uid, (f" {database} ",))
        # The rest of the server, by kind (parts of "postgresql", like the
        # backends): what runs between the statements, and the processes that
        # exited within the phase, whose times the postmaster reaped (autovacuum
        # workers, short sessions of any database).
        groups.update(pg_parts(uid))
    return groups


PG_BACKENDS = "postgresql backends (this db)"
PG_AUTOVACUUM = "postgresql autovacuum workers (live)"
PG_WRITERS = "postgresql checkpointer and writers"
PG_REAPED = "postgresql exited processes (reaped)"
PG_SERVER = "postgresql"  # the whole server's group: the postmaster and its children
# Groups that are parts of the "postgresql" group, never added to it.
PG_PARTS_NAMES = (PG_BACKENDS, PG_AUTOVACUUM, PG_WRITERS, PG_REAPED)


def pg_parts(uid: int) -> dict:
    return {
        PG_AUTOVACUUM: ("uid", uid, ("autovacuum worker",)),
        PG_WRITERS: ("uid", uid, ("checkpointer", "background writer", "walwriter")),
        PG_REAPED: ("reaped", uid, ("postgres -D",)),
    }


def cpu_snapshot(groups: dict) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each live process of each group, by pid.

    A process's figure includes its reaped children's times.
    """
    processes = all_processes()
    by_pid = {p.pid: p for p in processes}

    def ticks(name: str, pid: int) -> int:
        reaped = isinstance(groups[name], tuple) and groups[name][0] == "reaped"
        return by_pid[pid].reaped_ticks if reaped else by_pid[pid].cpu_ticks

    return {
        name: {pid: ticks(name, pid) / TICKS for pid in members}
        for name, members in group_pids(groups, processes).items()
    }


def self_cpu_seconds() -> float:
    """This process's own CPU seconds (all its threads: the benchmark's clients)."""
    times = os.times()
    return times.user + times.system


def peak_rss_mib(groups: dict) -> dict[str, list[dict]]:
    """Each group's processes with their peak resident memory (VmHWM), in MiB."""
    processes = all_processes()
    by_pid = {p.pid: p for p in processes}
    result: dict[str, list[dict]] = {}
    for name, members in group_pids(groups, processes).items():
        rows = []
        for pid in members:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    rows.append(
                        {
                            "pid": pid,
                            "name": by_pid[pid].name,
                            "vmhwm_mib": int(line.split()[1]) / 1024,
                        }
                    )
        result[name] = rows
    return result
