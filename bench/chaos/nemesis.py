"""The nemesis: one fault at a time, at random intervals, for as long as the
workload runs (Jepsen's flip-flop of fault and recovery).

It first deals a shuffled deck holding every enabled fault once, so each fires
at least once however short the run; then draws at random. A fault that did not
take effect goes back into the deck. If the workload ends before the deck is
empty, the rest are still fired, while the pipeline drains.

Worker kills aim at the window between a consumer's effect and its ack: the
nemesis polls the delivery history tightly and kills the moment a new effect
has committed (or a few milliseconds later). Whether a kill really landed
before the ack shows afterwards: the broker redelivered that event and the
consumer skipped it as a duplicate (see checker.py).
"""

import json
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from bench.chaos import infrastructure
from bench.chaos.broker import BROKER_ERRORS
from bench.chaos.database import Connection, Unavailable
from bench.chaos.duplicates import Injector
from bench.chaos.options import (
    DUPLICATES,
    MAILER_KILL,
    POSTGRES_READ_ONLY,
    POSTGRES_RESTART,
    RABBITMQ_RESTART,
    RELAY_KILL,
    WORKER_KILL,
    Options,
)
from bench.chaos.processes import WORKERS, Supervisor, consumer_of
from launcher.local import PG

# After the deck, how often each fault is drawn, relative to the others.
WEIGHTS = {
    WORKER_KILL: 3,
    RELAY_KILL: 2,
    MAILER_KILL: 1,
    DUPLICATES: 2,
    RABBITMQ_RESTART: 1,
    POSTGRES_RESTART: 1,
    POSTGRES_READ_ONLY: 1,
}
VARIANTS = {
    RELAY_KILL: ("mid_batch", "random"),
    WORKER_KILL: ("after_effect", "delayed"),
    MAILER_KILL: ("mid_pass", "random"),
    RABBITMQ_RESTART: ("",),
    POSTGRES_RESTART: ("",),
    POSTGRES_READ_ONLY: ("",),
    DUPLICATES: ("",),
}
# The deck: every variant that must be seen at least once.
REQUIRED = [
    (RELAY_KILL, "mid_batch"),
    (WORKER_KILL, "after_effect"),
    (WORKER_KILL, "delayed"),
    (MAILER_KILL, "mid_pass"),
    (RABBITMQ_RESTART, ""),
    (POSTGRES_RESTART, ""),
    (POSTGRES_READ_ONLY, ""),
    (DUPLICATES, ""),
]
RETRIES = 3  # a required fault that did not take effect is dealt again this often
SHARED = (
    RABBITMQ_RESTART,
    POSTGRES_RESTART,
    POSTGRES_READ_ONLY,
)  # services other work depends on


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Fault:
    kind: str
    variant: str
    at: float  # seconds since the workload started
    seconds: float = 0.0
    fired: bool = False
    detail: dict = field(default_factory=dict)
    error: str = ""


@dataclass
class Nemesis:
    options: Options
    supervisor: Supervisor
    dbname: str
    injector: Injector
    rng: random.Random
    t0: float
    say: object = print
    faults: list[Fault] = field(default_factory=list)
    last_fault_end: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _db: Connection | None = None

    def __post_init__(self):
        self._db = Connection(self.dbname, connect_timeout=2)
        self.deck = [f for f in REQUIRED if f[0] in self.options.faults]
        self.rng.shuffle(self.deck)
        self._retries: dict[tuple, int] = {}
        self._last_shared_restart = 0.0

    # --- schedule ---------------------------------------------------------------

    def _draw(self) -> tuple[str, str]:
        if self.deck:
            return self.deck.pop(0)
        kinds = sorted(self.options.faults)
        since = time.monotonic() - self._last_shared_restart
        if since < self.options.restart_cooldown:
            kinds = [k for k in kinds if k not in SHARED] or kinds
        kind = self.rng.choices(kinds, [WEIGHTS[k] for k in kinds])[0]
        return kind, self.rng.choice(VARIANTS[kind])

    def run(self, workload_done: threading.Event) -> None:
        low, high = self.options.fault_interval
        while not self._stop.is_set():
            if workload_done.is_set():
                if not self.deck:
                    return
                low = high = min(low, 2.0)  # finish the deck without dawdling
            if self._stop.wait(self.rng.uniform(low, high)):
                return
            if workload_done.is_set() and not self.deck:
                return  # the workload ended while waiting: no more random faults
            kind, variant = self._draw()
            fault = self.fire(kind, variant)
            if not fault.fired and (kind, variant) in REQUIRED:
                tries = self._retries.get((kind, variant), 0) + 1
                self._retries[(kind, variant)] = tries
                if tries <= RETRIES:
                    self.deck.append((kind, variant))

    def stop(self) -> None:
        self._stop.set()

    def fire(self, kind: str, variant: str) -> Fault:
        fault = Fault(kind, variant, at=round(time.monotonic() - self.t0, 2))
        start = time.monotonic()
        try:
            getattr(self, f"_{kind}")(fault)
        except (
            infrastructure.InfrastructureError,
            subprocess.SubprocessError,
            Unavailable,
            *BROKER_ERRORS,
        ) as exc:
            fault.error = f"{exc.__class__.__name__}: {exc}"
        fault.seconds = round(time.monotonic() - start, 2)
        self.last_fault_end = time.monotonic()
        if kind in SHARED:
            self._last_shared_restart = self.last_fault_end
        self.faults.append(fault)
        status = "fired" if fault.fired else f"DID NOT FIRE {fault.error}"
        brief = {k: v for k, v in fault.detail.items() if k != "log"}
        self.say(
            f"  t={fault.at:7.1f}s  {kind} {variant} {status} "
            f"({fault.seconds:.1f}s) {brief}"
        )
        return fault

    # --- helpers ------------------------------------------------------------------

    def _kill_after_effect(
        self, worker: str, *, group: bool, delay: float = 0.0
    ) -> dict:
        """SIGKILL the worker (its process group) as
        soon as its next effect commits; see effect_killer.py."""
        command = [
            sys.executable, "-m", "bench.chaos.effect_killer",
            "--host", str(PG["host"]), "--port", str(PG["port"]),
            "--user", PG["user"], "--dbname", self.dbname,
            "--consumer", consumer_of(worker), "--delay", f"{delay:.4f}",
        ]  # fmt: skip
        if group:
            command += ["--group", str(self.supervisor.pid(worker))]
        else:
            command += ["--pids", *map(str, self.supervisor.children(worker))]
        try:
            done = subprocess.run(  # noqa: S603 - our own module
                command,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                cwd=settings.BASE_DIR,
            )
        except subprocess.SubprocessError as exc:
            return {"event_id": None, "lag_ms": None, "killed": [], "error": str(exc)}
        try:
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            # It could not watch (the database is restarting?): the caller still
            # kills, just not aimed at an effect.
            return {
                "event_id": None,
                "lag_ms": None,
                "killed": [],
                "error": done.stderr[-300:],
            }

    def _downtime(self) -> float:
        return self.rng.uniform(0.2, 2.0)

    def _in_flight(self, query: str) -> int:
        """Wait (up to 3 s) until `query` counts something in flight: the
        process is between taking its work and marking it done."""
        count = 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not count:
            count = self._db.rows(query)[0][0]
            if not count:
                time.sleep(0.002)
        return count

    def _crash_and_restart(self, service: str, fault: Fault, detail: dict) -> None:
        code = self.supervisor.kill(service)
        down = self._downtime()
        time.sleep(down)
        self.supervisor.start(service)
        fault.fired = code == -9
        fault.detail = {**detail, "exit": code, "down_s": round(down, 2)}

    # --- the faults ---------------------------------------------------------------

    def _relay_kill(self, fault: Fault) -> None:
        claimed = 0
        if fault.variant == "mid_batch":
            # Rows claimed but not yet marked published: the relay is between
            # claim and mark, so its publishes will be repeated by the next relay.
            claimed = self._in_flight(
                "SELECT count(*) FROM events_outboxmessage"
                " WHERE claim_token IS NOT NULL AND published_at IS NULL"
            )
        self._crash_and_restart("relay", fault, {"claimed_rows_in_flight": claimed})

    def _mailer_kill(self, fault: Fault) -> None:
        claimed = 0
        if fault.variant == "mid_pass":
            # E-mails claimed and not yet marked: the mailer is inside a pass.
            # They wait out their claim, then a pass sends them again.
            claimed = self._in_flight(
                "SELECT count(*) FROM notifications_notification"
                " WHERE email_status = 'pending' AND email_attempts > 0"
                " AND email_next_attempt_at > now()"
            )
        self._crash_and_restart("mailer", fault, {"claimed_emails_in_flight": claimed})

    def _worker_kill(self, fault: Fault) -> None:
        worker = self.rng.choice(WORKERS)
        delay = self.rng.uniform(0, 0.05) if fault.variant == "delayed" else 0.0
        self.supervisor.expect_down(worker)  # before the signal, or it is a "death"
        kill = self._kill_after_effect(worker, group=True, delay=delay)
        code = self.supervisor.kill(worker)  # reaps it (and kills it, had that failed)
        down = self._downtime()
        time.sleep(down)
        self.supervisor.start(worker)
        fault.fired = code == -9
        fault.detail = {
            "worker": worker,
            "after_event": kill["event_id"],
            "kill_ms_after_effect": _ms(kill["lag_ms"]),
            "exit": code,
            "down_s": round(down, 2),
        }

    def _rabbitmq_restart(self, fault: Fault) -> None:
        restart = infrastructure.rabbitmq_restart(
            self.options.rabbitmq_mode, down_seconds=self.rng.uniform(1.0, 3.0)
        )
        fault.fired = restart.happened
        fault.detail = {
            "mode": self.options.rabbitmq_mode,
            "before": restart.before,
            "after": restart.after,
            "outage_s": round(restart.seconds_down, 1),
        }

    def _postgres_restart(self, fault: Fault) -> None:
        restart = infrastructure.postgres_restart(
            self.options.postgres_mode, down_seconds=self.rng.uniform(1.0, 3.0)
        )
        fault.fired = restart.happened
        fault.detail = {
            "mode": self.options.postgres_mode,
            "started_before": restart.before,
            "started_after": restart.after,
            "outage_s": round(restart.seconds_down, 1),
        }

    def _postgres_read_only(self, fault: Fault) -> None:
        window = infrastructure.postgres_read_only(seconds=self.rng.uniform(2.0, 4.0))
        fault.fired = window.refused_writes
        fault.detail = {
            "read_only_s": round(window.seconds, 1),
            "write_refused_with": window.sqlstate,
        }

    def _duplicates(self, fault: Fault) -> None:
        copies = self.injector.inject(self.rng.randint(10, 40))
        fault.fired = copies > 0
        fault.detail = {"copies": copies}
