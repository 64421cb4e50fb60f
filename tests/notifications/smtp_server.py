"""A real SMTP server for the e-mail tests: aiosmtpd on a free local port.

It keeps what it receives and can be told to stall (accept the connection,
then never answer a recipient) or to refuse every recipient, or only some, and
to recover.
"""

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: tuple  # the client's address and port: one per connection


class Mailbox:
    """aiosmtpd handler: accepts, stalls or refuses, as the test says."""

    def __init__(self) -> None:
        self.mode = "accept"
        self.refused: set[str] = set()  # addresses refused even while accepting
        self.received: list[Received] = []
        self.stalls = 0  # recipients the server has sat on
        self.stalling = threading.Event()  # set while a session is stalled
        self.stalled_sessions = 0  # how many sessions were stalled so far

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "refuse" or address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        if self.mode == "stall":
            self.stalls += 1
            self.stalling.set()
            self.stalled_sessions += 1
            while self.mode == "stall" and not server.transport.is_closing():
                await asyncio.sleep(0.02)
            self.stalling.clear()
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                peer=tuple(session.peer),
            )
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """An aiosmtpd server running on its own thread and event loop."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(
            self.mailbox, hostname=self.host, port=self.port, ready_timeout=10
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self.mailbox.mode = "accept"  # lets a stalled session end
        self._controller.stop()

    @property
    def received(self) -> list[Received]:
        return list(self.mailbox.received)

    def stall(self) -> None:
        self.mailbox.mode = "stall"

    def refuse(self) -> None:
        self.mailbox.mode = "refuse"

    def refuse_address(self, address: str) -> None:
        self.mailbox.refused.add(address)

    def recover(self) -> None:
        self.mailbox.mode = "accept"


def wait_until(condition, timeout: float = 10.0, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; return that, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true after {timeout} s: {condition}")
        time.sleep(interval)
