"""REST clients for the approve call: closed-loop and open-loop (paced) drivers.

Each client thread keeps its own http.client connection open between calls
(gunicorn's sync workers still close it after each response; the connection is
then reopened by the next call). Every approve carries a fresh Idempotency-Key,
as the API's conventions ask of a real client.
"""

import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class Call:
    payment_id: str
    sent_at: float  # wall clock (time.time()), comparable with the DB's stamps
    scheduled_at: float | None
    latency_s: float
    status: int


@dataclass
class DriverResult:
    calls: list[Call] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0
    reconnects: int = 0

    @property
    def ok(self) -> list[Call]:
        return [c for c in self.calls if c.status == 200]


class ApiClient:
    """One keep-alive connection to the web app, authenticated with a token."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.reconnects = 0

    def post(self, path: str, body: dict | None = None, key: str | None = None):
        headers = {
            "Authorization": f"Token {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key or str(uuid.uuid4()),
        }
        payload = json.dumps(body).encode() if body is not None else b""
        for attempt in range(3):
            try:
                if self.conn.sock is None:
                    self.reconnects += 1
                self.conn.request("POST", path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                # Same Idempotency-Key: a retry can never approve twice.
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def approve(self, payment_id: str) -> int:
        status, _ = self.post(f"/api/v1/payments/{payment_id}/approve")
        return status

    def close(self) -> None:
        self.conn.close()


def token_get(host: str, port: int, username: str, password: str) -> str:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/auth/token",
            body=json.dumps({"username": username, "password": password}),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"token for {username}: {response.status} {data!r}")
        return json.loads(data)["token"]
    finally:
        conn.close()


def _run_threads(workers: int, work) -> None:
    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def closed_loop(host, port, token, payment_ids: list[str], clients: int):
    """`clients` threads approve the payments as fast as answers come back."""
    result = DriverResult()
    lock = threading.Lock()
    queue = iter(payment_ids)

    def work():
        client = ApiClient(host, port, token)
        calls = []
        while True:
            with lock:
                payment_id = next(queue, None)
            if payment_id is None:
                break
            sent, start = time.time(), time.perf_counter()
            try:
                status = client.approve(payment_id)
            except Exception as exc:
                with lock:
                    result.errors.append(f"{payment_id}: {exc!r}")
                continue
            calls.append(
                Call(payment_id, sent, None, time.perf_counter() - start, status)
            )
        client.close()
        with lock:
            result.calls.extend(calls)
            result.reconnects += client.reconnects

    result.started_at = time.time()
    _run_threads(clients, work)
    result.finished_at = time.time()
    return result


def open_loop(host, port, token, payment_ids: list[str], rate: float, workers: int):
    """Approve at a fixed rate (call i is due at start + i/rate), late or not.

    Latency is taken from the due time, so a slow answer cannot hide the calls
    that queued behind it (no coordinated omission).
    """
    result = DriverResult()
    lock = threading.Lock()
    counter = iter(range(len(payment_ids)))
    start = time.perf_counter() + 0.05
    wall_start = time.time() + 0.05

    def work():
        client = ApiClient(host, port, token)
        calls = []
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.time()
            try:
                status = client.approve(payment_ids[index])
            except Exception as exc:
                with lock:
                    result.errors.append(f"{payment_ids[index]}: {exc!r}")
                continue
            calls.append(
                Call(
                    payment_ids[index],
                    sent,
                    wall_start + index / rate,
                    time.perf_counter() - due,
                    status,
                )
            )
        client.close()
        with lock:
            result.calls.extend(calls)
            result.reconnects += client.reconnects

    result.started_at = wall_start
    _run_threads(workers, work)
    result.finished_at = time.time()
    return result
