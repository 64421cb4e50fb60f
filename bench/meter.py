"""CPU used per phase by each process group, and the run's peak memory per process."""

import time
from pathlib import Path

from bench.procfs import (
    PG_PARTS_NAMES,
    PG_REAPED,
    PG_SERVER,
    TICKS,
    cpu_snapshot,
    peak_rss_mib,
    self_cpu_seconds,
)

CLIENT = "bench client"
OTHERS = "other processes"


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    fields = [
        int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICKS


class Meter:
    """Snapshots of CPU per group; peak RSS of every process seen so far."""

    def __init__(self):
        self.groups: dict = {}
        self.peaks: dict[tuple[str, int], dict] = {}

    def track(self, name: str, pgid) -> None:
        self.groups[name] = pgid

    def snapshot(self) -> dict:
        snap: dict = cpu_snapshot(self.groups)
        snap[CLIENT] = {0: self_cpu_seconds()}
        snap["_machine"] = machine_busy_seconds()
        snap["_wall"] = time.monotonic()
        return snap

    def cpu_between(self, before: dict, after: dict) -> dict:
        """CPU seconds per group between two snapshots, plus everything else's."""
        used = {}
        for name, pids in after.items():
            if name.startswith("_"):
                continue
            earlier = before.get(name, {})
            # Per process: a process started within the phase counts from zero.
            used[name] = sum(t - earlier.get(pid, 0.0) for pid, t in pids.items())
        # A PostgreSQL process that exited within the phase (a backend whose
        # connection was closed: CONN_MAX_AGE, a worker's reuse limit) hands its
        # whole life's CPU to the postmaster, which reaps it. What it had used
        # before the phase is not the phase's: without this, one long-lived
        # backend closing in a phase added seconds to it.
        vanished = sum(
            t
            for pid, t in before.get(PG_SERVER, {}).items()
            if pid not in after.get(PG_SERVER, {})
        )
        for name in (PG_SERVER, PG_REAPED):
            if name in used:
                used[name] -= vanished
        machine = after["_machine"] - before["_machine"]
        ours = sum(v for k, v in used.items() if k not in PG_PARTS_NAMES)
        used[OTHERS] = max(0.0, machine - ours)
        used["_wall"] = after["_wall"] - before["_wall"]
        used["_machine"] = machine
        return used

    def sample_rss(self) -> None:
        """Remember each live process's VmHWM (call before stopping a service)."""
        for name, rows in peak_rss_mib(
            {k: v for k, v in self.groups.items() if isinstance(v, int)}
        ).items():
            for row in rows:
                key = (name, row["pid"])
                if row["vmhwm_mib"] >= self.peaks.get(key, {}).get("vmhwm_mib", 0):
                    self.peaks[key] = {"service": name, **row}

    def rss_report(self) -> dict:
        per_service: dict[str, float] = {}
        for (name, _), row in self.peaks.items():
            per_service[name] = max(per_service.get(name, 0), row["vmhwm_mib"])
        return {
            "max_mib_per_service": per_service,
            "max_mib": max(per_service.values()) if per_service else None,
            "processes": sorted(
                self.peaks.values(), key=lambda r: (r["service"], r["pid"])
            ),
        }


def per_unit_ms(cpu: dict, units: int) -> dict:
    """CPU milliseconds per unit of work (an approval, an event) for each group."""
    return {
        name: seconds * 1000 / units
        for name, seconds in cpu.items()
        if not name.startswith("_") and units
    }
