"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives: for tests and the offline demo."""

from __future__ import annotations

import asyncio
import socket
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message as it arrived: the envelope sender and recipients, and the parsed message."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Handler:
    def __init__(self, server: LocalSmtp) -> None:
        self._server = server

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain in self._server.refuse_domains:
            return f"550 5.1.1 <{address}>: recipient refused (this server takes no mail for {domain})"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        # Stored the way a Unix mailbox keeps mail: line ends as \n, so text parts read back as they were written.
        data = data.replace(b"\r\n", b"\n")
        message = BytesParser(policy=default).parsebytes(data)
        assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage objects
        self._server._arrived(Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class LocalSmtp:
    """``async with LocalSmtp() as smtp:`` runs a real SMTP server; ``smtp.messages`` fills as mail arrives.

    ``username``/``password`` make the server require AUTH (PLAIN or LOGIN, allowed without TLS: tests only);
    ``refuse_domains`` makes it refuse recipients at those domains with a 550.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
        refuse_domains: tuple[str, ...] = (),
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("LocalSmtp needs both a username and a password to require AUTH, or neither.")
        self.host = HOST
        self.port = port
        self.messages: list[Received] = []
        self.refuse_domains = frozenset(domain.lower() for domain in refuse_domains)
        self._username = username
        self._password = password
        self._controller: Controller | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signal = asyncio.Event()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == self._username and auth_data.password.decode() == self._password
        return AuthResult(success=ok, handled=False)

    def _arrived(self, received: Received) -> None:
        # aiosmtpd runs in its own thread and loop; wake the waiter in ours.
        self.messages.append(received)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._signal.set)

    async def __aenter__(self) -> LocalSmtp:
        self._loop = asyncio.get_running_loop()
        if self.port == 0:
            self.port = free_port(self.host)
        options: dict[str, Any] = {}
        if self._username is not None:
            # Deliberately plaintext AUTH on loopback; aiosmtpd warns about it on every connection.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            options = {"auth_required": True, "auth_require_tls": False, "authenticator": self._authenticate}
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **options)
        await asyncio.to_thread(self._controller.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)
            self._controller = None

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:  # noqa: ASYNC109 (a test deadline)
        """Wait until ``n`` messages have arrived; returns them, raises TimeoutError naming what did arrive."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.messages) < n:
                    self._signal.clear()
                    if len(self.messages) >= n:
                        break
                    await self._signal.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{len(self.messages)} of {n} messages reached {self.host}:{self.port} within {timeout} s"
            ) from None
        return self.messages[:n]
