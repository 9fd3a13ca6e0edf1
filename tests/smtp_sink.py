"""An SMTP server of the test's own (aiosmtpd in a thread of its own, on a free port): it keeps
what it receives in memory and answers as the test tells it, per recipient or per message:

- ``refuse(address, reply)``: a permanent refusal (550) at RCPT TO;
- ``busy(address, times)``: 451 at RCPT TO that many times (every time when ``times`` is None),
  then accepted;
- ``hold_nth(n)``: the n-th distinct message (by Message-ID) waits inside DATA, after the server
  has the whole message but before it keeps it and before its 250, every time it comes, until
  ``release()``. A client that goes away meanwhile cuts the transaction: aiosmtpd cancels the
  handler, the message is not kept, and the sink notes it in ``cut``.

Its own thread, not the test's event loop: a test that blocks (starting a service process)
must not stall the server a service is talking to.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from tests.support import free_port


@dataclass(frozen=True)
class Kept:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.content)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Sink:
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    kept: list[Kept] = field(default_factory=list)
    #: The Message-ID of every DATA the server took in full, in order, kept or not
    data: list[str] = field(default_factory=list)
    #: Message-IDs whose transaction the client cut while the sink held it
    cut: list[str] = field(default_factory=list)
    #: RCPT TO commands per address, answered 250 or not
    rcpt: Counter = field(default_factory=Counter)
    #: The held Message-ID, once the n-th message came
    held: str | None = None
    #: How many times the held message came and waited
    held_times: int = 0
    _refused: dict[str, str] = field(default_factory=dict)
    _busy: dict[str, int | None] = field(default_factory=dict)
    _hold_nth: int | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> Sink:
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.release()  # a handler still waiting would hold the server's loop open
            self._controller.stop()

    def refuse(self, address: str, reply: str = "550 5.1.1 no such mailbox here") -> None:
        self._refused[address] = reply

    def busy(self, address: str, times: int | None = None) -> None:
        self._busy[address] = times

    def hold_nth(self, n: int) -> None:
        self._hold_nth = n

    def release(self) -> None:
        if self._controller is not None:
            self._controller.loop.call_soon_threadsafe(self._released.set)

    def to(self, address: str) -> list[Kept]:
        with self._lock:
            return [k for k in self.kept if address in k.rcpt_tos]

    def all_kept(self) -> list[Kept]:
        with self._lock:
            return list(self.kept)

    # aiosmtpd's handler hooks, run in the server's thread

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        with self._lock:
            self.rcpt[address] += 1
            if address in self._refused:
                return self._refused[address]
            if address in self._busy:
                left = self._busy[address]
                if left is None or left > 0:
                    self._busy[address] = None if left is None else left - 1
                    return "451 4.3.2 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        message_id = str(BytesParser(policy=policy.default).parsebytes(content)["Message-ID"])
        with self._lock:
            self.data.append(message_id)
            if self.held is None and len(set(self.data)) == self._hold_nth:
                self.held = message_id
            holding = message_id == self.held and not self._released.is_set()
            if holding:
                self.held_times += 1
        if holding:
            try:
                await self._released.wait()
            except asyncio.CancelledError:
                with self._lock:
                    self.cut.append(message_id)
                raise
        with self._lock:
            self.kept.append(Kept(envelope.mail_from, tuple(envelope.rcpt_tos), content))
        return "250 OK kept"
