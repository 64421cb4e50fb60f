"""The clients: submit and approve payments through REST, as a real client would.

Each payment is submitted by a maker and approved by another person of the same
organisation, each POST under its own Idempotency-Key. A request that gets no
definite answer (timeout, connection error, 5xx) is indeterminate, Jepsen's
`:info`: the client retries it with the same key until it gets one or gives up.
The history keeps every indeterminate attempt, so the checker can report the
approvals whose response was lost and what became of them.
"""

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from bench.chaos.tenants import Account, Tenants

CREDITOR_IBAN = "DE89370400440532013000"
REQUEST_TIMEOUT = 15.0
# Long enough to outlast an Idempotency-Key lease (60 s) left behind by a request
# that died with the database: a retry meanwhile is answered 409 in-progress.
CALL_DEADLINE = 150.0
IN_PROGRESS = "idempotency-key-in-progress"


@dataclass
class Call:
    """One POST under one Idempotency-Key, however many attempts it took."""

    status: int | None = None  # the definite answer; None if none ever came
    code: str = ""  # the problem code of a refusal
    replayed: bool = False  # answered from the Idempotency-Key store
    lost: list[str] = field(default_factory=list)  # attempts with no definite answer
    in_progress: int = 0  # 409 in-progress answers while a claim was held
    body: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Approval:
    index: int
    account: Account
    amount: int
    maker: str
    approver: str
    payment_id: str | None = None
    submit: Call | None = None
    approve: Call | None = None


def post(session, url: str, headers: dict, body: dict | None, stop) -> Call:
    """POST with retries under one Idempotency-Key until a definite answer."""
    call = Call()
    headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    deadline = time.monotonic() + CALL_DEADLINE
    failures = 0
    while True:
        try:
            response = session.post(
                url, headers=headers, json=body, timeout=REQUEST_TIMEOUT
            )
        except requests.Timeout:
            call.lost.append("timeout")
        except requests.ConnectionError:
            call.lost.append("connection error")
        else:
            payload = _json(response)
            code = payload.get("code", "") if isinstance(payload, dict) else ""
            if response.status_code >= 500:
                call.lost.append(f"http {response.status_code}")
            elif response.status_code == 409 and code == IN_PROGRESS:
                call.in_progress += 1
            else:
                call.status, call.code, call.body = response.status_code, code, payload
                call.replayed = response.headers.get("Idempotent-Replayed") == "true"
                return call
        failures += 1
        if time.monotonic() > deadline or stop.is_set():
            return call
        ceiling = min(2.0, 0.1 * 2**failures)
        time.sleep(random.uniform(ceiling / 2, ceiling))  # jitter, not crypto


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Workload:
    base_url: str
    tenants: Tenants
    approvals: int
    clients: int
    min_duration: float
    seed: int
    history: list[Approval] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    started_at: float = 0.0
    finished_at: float = 0.0
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self) -> None:
        """Fix every approval up front from the seed: the run is reproducible."""
        rng = random.Random(self.seed)
        for index in range(self.approvals):
            account = rng.choice(self.tenants.accounts)
            maker = rng.choice(self.tenants.makers(account.organisation))
            approver = rng.choice(
                [a for a in self.tenants.approvers(account.organisation) if a != maker]
            )
            amount = rng.randint(1, 100_000)
            self.history.append(Approval(index, account, amount, maker, approver))

    def _take(self) -> Approval | None:
        with self._lock:
            if self._next >= len(self.history) or self.stop.is_set():
                return None
            self._next += 1
            return self.history[self._next - 1]

    def _client(self) -> None:
        session = requests.Session()
        pace = self.min_duration / max(1, self.approvals)
        while (approval := self._take()) is not None:
            # Pacing: approval n starts no earlier than n * pace into the run.
            delay = self.started_at + approval.index * pace - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                return
            self._one(session, approval)

    def _one(self, session, approval: Approval) -> None:
        tenants = self.tenants
        approval.submit = post(
            session,
            f"{self.base_url}/api/v1/payments",
            tenants.headers(approval.maker),
            {
                "debtor_account": approval.account.id,
                "amount": approval.amount,
                "currency": approval.account.currency,
                "creditor": {
                    "name": f"Creditor {approval.index}",
                    "iban": CREDITOR_IBAN,
                },
                "reference": f"CHAOS-{approval.index}",
            },
            self.stop,
        )
        if not approval.submit.ok:
            return
        approval.payment_id = approval.submit.body["id"]
        approval.approve = post(
            session,
            f"{self.base_url}/api/v1/payments/{approval.payment_id}/approve",
            tenants.headers(approval.approver),
            None,
            self.stop,
        )

    def start(self) -> None:
        self.plan()
        self.started_at = time.monotonic()
        threads = [
            threading.Thread(target=self._client, name=f"client-{n}", daemon=True)
            for n in range(self.clients)
        ]
        for thread in threads:
            thread.start()

        def finish():
            for thread in threads:
                thread.join()
            self.finished_at = time.monotonic()
            self.done.set()

        threading.Thread(target=finish, name="workload", daemon=True).start()

    def progress(self) -> tuple[int, int]:
        """(approvals finished, approvals accepted) so far."""
        finished = accepted = 0
        for approval in self.history[: self._next]:
            call = approval.approve
            if call is not None or (approval.submit and not approval.submit.ok):
                finished += 1
            if call is not None and call.ok:
                accepted += 1
        return finished, accepted
